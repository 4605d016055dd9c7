package handlers

import "github.com/licledger/licledger/domain"

// The catalogue queries: product.list and plan.list (Keygen's products and policies), so that a
// partner can see what it may sell before license.create names a plan. The catalogue is the
// system's; a credential scoped to one product sees that product only, everyone else every
// product.

type productListQuery struct {
	Format string `json:"format,omitempty"`
	PageQuery
	ReadOptions
}

type planListQuery struct {
	ProductID string `json:"productId,omitempty"`
	Format    string `json:"format,omitempty"`
	PageQuery
	ReadOptions
}

// productItem is a product as product.list shows it.
type productItem struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Products and plans as a view shows them.
type (
	productRendered map[string]any
	planRendered    map[string]any
)

func (productRendered) JSONSchema() map[string]any { return productsView.schema() }
func (planRendered) JSONSchema() map[string]any    { return plansView.schema() }

// inCatalogue is whether a credential's scope shows product id: all of them, unless the scope
// names one product.
func inCatalogue(sc domain.Scope, productID string) bool {
	return sc.ProductID == "" || sc.ProductID == productID
}

// listProducts answers product.list, one page at a time, in id order.
func listProducts(l *Ledger, caller domain.Credential, q productListQuery) (*page[productRendered], error) {
	level, err := productsView.level(caller, q.Format)
	if err != nil {
		return nil, err
	}
	if err := q.PageQuery.check(); err != nil {
		return nil, err
	}
	products, next := l.licenses.Products(q.After, q.Limit, func(p *domain.Product) bool { return inCatalogue(caller.Scope, p.ID) })
	items := make([]productItem, len(products))
	for i, p := range products {
		items[i] = productItem{p.ID, p.Name}
	}
	rendered, err := renderAll[productRendered](productsView, items, level, l.label)
	return &page[productRendered]{rendered, next}, err
}

// listPlans answers plan.list, one page at a time, in id order.
func listPlans(l *Ledger, caller domain.Credential, q planListQuery) (*page[planRendered], error) {
	level, err := plansView.level(caller, q.Format)
	if err != nil {
		return nil, err
	}
	if err := q.PageQuery.check(); err != nil {
		return nil, err
	}
	if q.ProductID != "" && !domain.ValidID(q.ProductID) {
		return nil, domain.Errorf(domain.CodeInvalidArgument, "productId", "must be 1-%d letters, digits, '_' or '-'", domain.MaxIDLength)
	}
	plans, next := l.licenses.Plans(q.After, q.Limit, func(p *domain.Plan) bool {
		return inCatalogue(caller.Scope, p.ProductID) && (q.ProductID == "" || p.ProductID == q.ProductID)
	})
	rendered, err := renderAll[planRendered](plansView, plans, level, l.label)
	return &page[planRendered]{rendered, next}, err
}
