package projections

import (
	"testing"
	"time"

	"github.com/licledger/licledger/domain"
)

func TestRecordLogin(t *testing.T) {
	p := NewCredentials()
	p.Apply(Meta{Time: t0}, domain.CredentialIssued{ID: "c1", Role: "developer", TokenHash: "h1"})
	p.RecordLogin("c1", t0.Add(time.Hour))
	p.RecordLogin("c1", t0.Add(time.Hour+500*time.Millisecond)) // within the resolution: ignored
	if got := p.LastLogins(); len(got) != 1 || !got["c1"].Equal(t0.Add(time.Hour)) {
		t.Fatalf("first report: %v", got)
	}
	if got := p.LastLogins(); len(got) != 0 {
		t.Fatalf("nothing changed, yet reported %v", got)
	}
	p.RecordLogin("c1", t0.Add(2*time.Hour))
	p.RecordLogin("nope", t0) // an unknown credential is ignored
	if got := p.LastLogins(); len(got) != 1 || !got["c1"].Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("second report: %v", got)
	}
	p.Apply(Meta{Time: t0.Add(3 * time.Hour)}, domain.CredentialRotated{CredentialID: "c1", TokenHash: "h2"})
	v, ok := p.Get("c1")
	if !ok || v.RotatedAt == nil || !v.RotatedAt.Equal(t0.Add(3*time.Hour)) || !v.IssuedAt.Equal(t0) {
		t.Fatalf("view: %+v", v)
	}
	if _, ok := p.ByTokenHash("h1"); ok {
		t.Fatal("the rotated-away token still authenticates")
	}
}
