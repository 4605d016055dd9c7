package domain

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Admin profile types (APIO's user levels, in the ledger's scope tree).
const (
	ProfileSystemAdmin   = "system-admin"
	ProfileResellerAdmin = "reseller-admin"
	ProfileTenantAdmin   = "tenant-admin"
)

// Admin is an APIO-style administrator of a reseller (or of one of its tenants).
type Admin struct {
	Username, ResellerID, TenantID, ProfileType string
	FirstName, LastName, EmailAddress, Language string
	Role                                        string
	PasswordHash                                string // argon2id, never shown
	CreatedAt                                   time.Time
	// PIIKey names the key the ledger sealed this admin's personal data and password hash
	// under, outside the log (handlers/personal.go): deleting the admin destroys it. The domain
	// carries the sealed values as they are.
	PIIKey string
}

// Forbidden holds attributes a method does not accept. The wire decodes them so that a refusal
// can name the field ("readOnly cannot be set") instead of calling it unknown.
type Forbidden struct {
	AccessType   json.RawMessage `json:"accessType,omitempty"`
	UserLevel    json.RawMessage `json:"userLevel,omitempty"`
	ReadOnly     json.RawMessage `json:"readOnly,omitempty"`
	LanguageCode json.RawMessage `json:"language_code,omitempty"`
}

func (f Forbidden) check(method string) error {
	for _, a := range []struct {
		name string
		v    json.RawMessage
	}{{"accessType", f.AccessType}, {"userLevel", f.UserLevel}, {"readOnly", f.ReadOnly}, {"language_code", f.LanguageCode}} {
		if a.v != nil {
			return Errorf(CodeFieldNotAllowed, a.name, "%s is read-only: it cannot be given on %s", a.name, method)
		}
	}
	return nil
}

// AdminProfile is the changeable part of an admin.
type AdminProfile struct {
	FirstName    *string `json:"firstName,omitempty"`
	LastName     *string `json:"lastName,omitempty"`
	EmailAddress *string `json:"emailAddress,omitempty"`
	Language     *string `json:"language,omitempty"`
	Role         *string `json:"role,omitempty"`
}

// AdminCreate adds an admin to a reseller. PasswordHash comes from the caller, who checked the
// password rule and hashed it with argon2id.
type AdminCreate struct {
	ResellerID      string `json:"resellerId"`
	Username        string `json:"username"`
	UserProfileType string `json:"userProfileType"`
	TenantID        string `json:"tenantId,omitempty"`
	AdminProfile
	Forbidden
	PasswordHash string `json:"-"`
}

func (AdminCreate) CommandName() string { return "admin.create" }

// AdminUpdate changes an admin's profile, profile type or password. Username, resellerId and
// tenantId cannot change.
type AdminUpdate struct {
	Username        string          `json:"username"`
	UserProfileType *string         `json:"userProfileType,omitempty"`
	ResellerID      json.RawMessage `json:"resellerId,omitempty"`
	TenantID        json.RawMessage `json:"tenantId,omitempty"`
	AdminProfile
	Forbidden
	PasswordHash string `json:"-"`
}

func (AdminUpdate) CommandName() string { return "admin.update" }

// AdminDelete removes an admin. By is the admin username of the principal asking, if it is an
// admin: nobody may delete themselves.
type AdminDelete struct {
	Username string `json:"username"`
	By       string `json:"-"`
}

func (AdminDelete) CommandName() string { return "admin.delete" }

// Event types.
const (
	TypeAdminCreated = "admin.created.v1"
	TypeAdminUpdated = "admin.updated.v1"
	TypeAdminDeleted = "admin.deleted.v1"
)

// AdminCreated records a new admin.
type AdminCreated struct {
	Username        string    `json:"username"`
	ResellerID      string    `json:"resellerId"`
	TenantID        string    `json:"tenantId,omitempty"`
	UserProfileType string    `json:"userProfileType"`
	FirstName       string    `json:"firstName,omitempty"`
	LastName        string    `json:"lastName,omitempty"`
	EmailAddress    string    `json:"emailAddress,omitempty"`
	Language        string    `json:"language,omitempty"`
	Role            string    `json:"role,omitempty"`
	PasswordHash    string    `json:"passwordHash,omitempty"`
	At              time.Time `json:"at"`
	PIIKey          string    `json:"piiKey,omitempty"` // see Admin.PIIKey
}

// AdminUpdated records the attributes an update changed (absent: unchanged).
type AdminUpdated struct {
	Username        string  `json:"username"`
	ResellerID      string  `json:"resellerId"`
	TenantID        string  `json:"tenantId,omitempty"`
	UserProfileType *string `json:"userProfileType,omitempty"`
	DropTenant      bool    `json:"dropTenant,omitempty"` // left tenant-admin: no tenant any more
	AdminProfile
	PasswordHash string `json:"passwordHash,omitempty"`
	PIIKey       string `json:"piiKey,omitempty"` // a key given to an admin created before keys were
}

// AdminDeleted records a deletion.
type AdminDeleted struct {
	Username   string `json:"username"`
	ResellerID string `json:"resellerId"`
	TenantID   string `json:"tenantId,omitempty"`
}

func (AdminCreated) EventType() string         { return TypeAdminCreated }
func (AdminUpdated) EventType() string         { return TypeAdminUpdated }
func (AdminDeleted) EventType() string         { return TypeAdminDeleted }
func (e AdminCreated) AggregateID() string     { return e.Username }
func (e AdminUpdated) AggregateID() string     { return e.Username }
func (e AdminDeleted) AggregateID() string     { return e.Username }
func (e AdminCreated) Stream() string          { return adminStream(e.Username) }
func (e AdminUpdated) Stream() string          { return adminStream(e.Username) }
func (e AdminDeleted) Stream() string          { return adminStream(e.Username) }
func (e AdminCreated) Owner() (string, string) { return e.ResellerID, e.TenantID }
func (e AdminUpdated) Owner() (string, string) { return e.ResellerID, e.TenantID }
func (e AdminDeleted) Owner() (string, string) { return e.ResellerID, e.TenantID }
func adminStream(username string) string       { return "admin/" + username }

func checkProfileType(t string) error {
	switch t {
	case ProfileSystemAdmin, ProfileResellerAdmin, ProfileTenantAdmin:
		return nil
	}
	return Errorf(CodeInvalidArgument, "userProfileType", "must be %s, %s or %s", ProfileSystemAdmin, ProfileResellerAdmin, ProfileTenantAdmin)
}

func (p AdminProfile) check() error {
	for _, f := range []struct {
		name string
		v    *string
	}{{"firstName", p.FirstName}, {"lastName", p.LastName}, {"emailAddress", p.EmailAddress}, {"language", p.Language}, {"role", p.Role}} {
		if f.v != nil && *f.v != "" {
			if err := checkText(f.name, *f.v); err != nil {
				return err
			}
		}
	}
	return nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *State) decideAdminCreate(now time.Time, c AdminCreate) ([]Event, error) {
	if err := c.Forbidden.check("create"); err != nil {
		return nil, err
	}
	if err := checkID("resellerId", c.ResellerID); err != nil {
		return nil, err
	}
	if err := checkID("username", c.Username); err != nil {
		return nil, err
	}
	if err := checkProfileType(c.UserProfileType); err != nil {
		return nil, err
	}
	if err := c.AdminProfile.check(); err != nil {
		return nil, err
	}
	if _, ok := s.Resellers[c.ResellerID]; !ok {
		return nil, Errorf(CodeResellerNotFound, "resellerId", "reseller %q does not exist", c.ResellerID)
	}
	// tenantId is conditional: required for a tenant admin, forbidden for anyone else.
	if c.UserProfileType == ProfileTenantAdmin {
		if err := checkID("tenantId", c.TenantID); err != nil {
			return nil, Errorf(CodeInvalidArgument, "tenantId", "is required for a %s", ProfileTenantAdmin)
		}
		t, ok := s.Tenants[c.TenantID]
		if !ok {
			return nil, Errorf(CodeTenantNotFound, "tenantId", "tenant %q does not exist", c.TenantID)
		}
		if t.ResellerID != c.ResellerID {
			return nil, Errorf(CodeTenantMismatch, "tenantId", "tenant %q is not a customer of reseller %q", c.TenantID, c.ResellerID)
		}
	} else if c.TenantID != "" {
		return nil, Errorf(CodeFieldNotAllowed, "tenantId", "only a %s has a tenant", ProfileTenantAdmin)
	}
	if _, ok := s.Admins[c.Username]; ok {
		return nil, Errorf(CodeAlreadyExists, "username", "admin %q already exists", c.Username)
	}
	return []Event{AdminCreated{
		Username: c.Username, ResellerID: c.ResellerID, TenantID: c.TenantID, UserProfileType: c.UserProfileType,
		FirstName: str(c.FirstName), LastName: str(c.LastName), EmailAddress: str(c.EmailAddress),
		Language: str(c.Language), Role: str(c.Role), PasswordHash: c.PasswordHash, At: now,
	}}, nil
}

func (s *State) decideAdminUpdate(c AdminUpdate) ([]Event, error) {
	if err := c.Forbidden.check("update"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		v    json.RawMessage
	}{{"resellerId", c.ResellerID}, {"tenantId", c.TenantID}} {
		if f.v != nil {
			return nil, Errorf(CodeFieldNotAllowed, f.name, "%s cannot be changed", f.name)
		}
	}
	if err := checkID("username", c.Username); err != nil {
		return nil, err
	}
	a, ok := s.Admins[c.Username]
	if !ok {
		return nil, Errorf(CodeAdminNotFound, "username", "admin %q does not exist", c.Username)
	}
	if err := c.AdminProfile.check(); err != nil {
		return nil, err
	}
	e := AdminUpdated{Username: a.Username, ResellerID: a.ResellerID, TenantID: a.TenantID, AdminProfile: c.AdminProfile, PasswordHash: c.PasswordHash}
	if t := c.UserProfileType; t != nil && *t != a.ProfileType {
		if err := checkProfileType(*t); err != nil {
			return nil, err
		}
		if *t == ProfileTenantAdmin {
			// tenantId is forbidden on update, so nobody can become a tenant admin this way.
			return nil, Errorf(CodeFieldNotAllowed, "userProfileType", "a %s needs a tenant, which can only be given on create", ProfileTenantAdmin)
		}
		e.UserProfileType = t
		e.DropTenant = a.TenantID != ""
		// A lower profile caps the credentials acting for the admin: those whose role now
		// exceeds it are revoked with the change, and so are its login sessions, whose role was
		// the old profile.
		return append([]Event{e}, s.revokeWhere(func(c *Credential) bool {
			return c.Scope.UserID == a.Username && (c.Session || len(RoleExcess(c.Role, *t)) > 0)
		}, "admin "+a.Username+" became a "+*t)...), nil
	}
	if c.PasswordHash != "" {
		// A new password ends the sessions the old one opened.
		return append([]Event{e}, s.revokeWhere(func(c *Credential) bool { return c.Scope.UserID == a.Username && c.Session },
			"admin "+a.Username+" changed its password")...), nil
	}
	return []Event{e}, nil
}

// revokeActingFor revokes, in id order, every live credential acting for admin username, saying
// why (the admin is deleted).
func (s *State) revokeActingFor(username, reason string) []Event {
	return s.revokeWhere(func(c *Credential) bool { return c.Scope.UserID == username }, reason)
}

// revokeWhere revokes, in id order, every live credential match says to, saying why.
func (s *State) revokeWhere(match func(*Credential) bool, reason string) []Event {
	var ids []string
	for id, c := range s.Credentials {
		if !c.Revoked && match(c) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids) // map order is random; the decision must not be
	events := make([]Event, len(ids))
	for i, id := range ids {
		c := s.Credentials[id]
		events[i] = CredentialRevoked{CredentialID: id, ResellerID: c.Scope.ResellerID, TenantID: c.Scope.TenantID, Reason: reason}
	}
	return events
}

func (s *State) decideAdminDelete(c AdminDelete) ([]Event, error) {
	if err := checkID("username", c.Username); err != nil {
		return nil, err
	}
	a, ok := s.Admins[c.Username]
	if !ok {
		return nil, Errorf(CodeAdminNotFound, "username", "admin %q does not exist", c.Username)
	}
	if c.By == c.Username {
		return nil, Errorf(CodeCannotDeleteYourself, "username", "cannot delete yourself")
	}
	// Every credential acting for the admin goes with it, each revocation an event of its own.
	return append([]Event{AdminDeleted{Username: a.Username, ResellerID: a.ResellerID, TenantID: a.TenantID}},
		s.revokeActingFor(a.Username, "admin "+a.Username+" was deleted")...), nil
}

func (s *State) applyAdmin(e Event) {
	switch e := e.(type) {
	case AdminCreated:
		s.Admins[e.Username] = &Admin{Username: e.Username, ResellerID: e.ResellerID, TenantID: e.TenantID,
			ProfileType: e.UserProfileType, FirstName: e.FirstName, LastName: e.LastName, EmailAddress: e.EmailAddress,
			Language: e.Language, Role: e.Role, PasswordHash: e.PasswordHash, CreatedAt: e.At, PIIKey: e.PIIKey}
	case AdminUpdated:
		a := s.Admins[e.Username]
		for _, f := range []struct {
			dst *string
			src *string
		}{{&a.FirstName, e.FirstName}, {&a.LastName, e.LastName}, {&a.EmailAddress, e.EmailAddress}, {&a.Language, e.Language}, {&a.Role, e.Role}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if e.UserProfileType != nil {
			a.ProfileType = *e.UserProfileType
		}
		if e.DropTenant {
			a.TenantID = ""
		}
		if e.PasswordHash != "" {
			a.PasswordHash = e.PasswordHash
		}
		if e.PIIKey != "" {
			a.PIIKey = e.PIIKey
		}
	case AdminDeleted:
		delete(s.Admins, e.Username)
	}
}

// languageCodes are the ISO 639-1 codes of the languages APIO names in full ("English" -> "en").
var languageCodes = map[string]string{
	"english": "en", "french": "fr", "dutch": "nl", "german": "de", "spanish": "es", "italian": "it",
	"portuguese": "pt", "polish": "pl", "swedish": "sv", "danish": "da", "norwegian": "no", "finnish": "fi",
	"czech": "cs", "greek": "el", "turkish": "tr", "russian": "ru", "japanese": "ja", "chinese": "zh",
	"korean": "ko", "arabic": "ar", "hebrew": "he", "hungarian": "hu", "romanian": "ro",
}

// LanguageCode is APIO's language_code, derived from the admin's language: its ISO 639-1 code,
// or "" for a language not known here.
func LanguageCode(language string) string {
	return languageCodes[strings.ToLower(strings.TrimSpace(language))]
}

// UserLevel is APIO's numeric user level of a profile type. The seed's examples give a tenant
// admin 12 and a reseller admin 16; the system admin stands above them at 20.
func UserLevel(profileType string) int {
	return map[string]int{ProfileTenantAdmin: 12, ProfileResellerAdmin: 16, ProfileSystemAdmin: 20}[profileType]
}

// AccessTypeFull is APIO's accessType of an admin who may change what its level reaches; every
// admin here has it (none is read-only).
const AccessTypeFull = 1
