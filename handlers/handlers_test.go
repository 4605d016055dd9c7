package handlers

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

func testSecrets(t testing.TB) *Secrets {
	s, err := NewSecrets(bytes.Repeat([]byte{7}, ServerKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testLicenseKeys is a fixed license signing key, for ledgers in tests.
func testLicenseKeys() []LicenseKey {
	return []LicenseKey{{Private: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize))}}
}

func TestTokensAreCheckedAndHashed(t *testing.T) {
	s := testSecrets(t)
	token, hash, prefix := s.NewToken()
	if !strings.HasPrefix(token, "lic_") || !WellFormedToken(token) || !strings.HasPrefix(token, prefix) {
		t.Fatalf("token %q prefix %q", token, prefix)
	}
	if hash != s.TokenHash(token) || strings.Contains(hash, token[4:]) {
		t.Fatal("hash is not a stable keyed hash of the token")
	}
	other, _ := NewSecrets(bytes.Repeat([]byte{8}, ServerKeySize))
	if other.TokenHash(token) == hash {
		t.Fatal("the hash does not depend on the server key")
	}
	// One changed character breaks the checksum.
	flipped := []byte(token)
	if flipped[10] == 'a' {
		flipped[10] = 'b'
	} else {
		flipped[10] = 'a'
	}
	for _, bad := range []string{"", "lic_", "abc", string(flipped), token + "0", strings.ToUpper(token)} {
		if WellFormedToken(bad) {
			t.Errorf("WellFormedToken(%q) = true", bad)
		}
	}
}

// TestKeyedHashesAreHMACSHA256: the hashes stored in the log are HMAC-SHA-256 under keys derived
// from the server key, the same on every call (the keyed states are pooled and reused), so that
// every token and key issued before validates after.
func TestKeyedHashesAreHMACSHA256(t *testing.T) {
	serverKey := bytes.Repeat([]byte{7}, ServerKeySize)
	derive := hmac.New(sha256.New, serverKey)
	derive.Write([]byte("licledger/token"))
	want := hmac.New(sha256.New, derive.Sum(nil))
	want.Write([]byte("lic_TOKEN"))
	s := testSecrets(t)
	for range 3 {
		if got := s.TokenHash("lic_TOKEN"); got != hex.EncodeToString(want.Sum(nil)) {
			t.Fatalf("TokenHash = %s; want HMAC-SHA-256 %x", got, want.Sum(nil))
		}
		if s.TokenHash("lic_OTHER") == s.TokenHash("lic_TOKEN") {
			t.Fatal("two tokens, one hash")
		}
	}
}

func TestLicenseKeys(t *testing.T) {
	s := testSecrets(t)
	key, hash, hint := s.NewLicenseKey()
	if len(key) != 39 || strings.Count(key, "-") != 7 || !strings.HasSuffix(key, hint) {
		t.Fatalf("key %q hint %q", key, hint)
	}
	if s.LicenseKeyHash(strings.ToLower(key)) != hash {
		t.Fatal("license keys should match case-insensitively")
	}
	if k2, _, _ := s.NewLicenseKey(); k2 == key {
		t.Fatal("two keys alike")
	}
}

func TestStoredRepliesKeepSecretsSealed(t *testing.T) {
	s := testSecrets(t)
	reply := []byte(`{"result":{"key":"SECRET-KEY"}}`)
	stored := s.storeReply(reply, true)
	if bytes.Contains(stored, []byte("SECRET-KEY")) {
		t.Fatal("sealed reply contains the secret")
	}
	back, err := s.openReply(stored)
	if err != nil || !bytes.Equal(back, reply) {
		t.Fatalf("open: %q, %v", back, err)
	}
	stored[len(stored)-1] ^= 1
	if _, err := s.openReply(stored); err == nil {
		t.Fatal("a tampered sealed reply opened")
	}
	plain, _ := s.openReply(s.storeReply([]byte("x"), false))
	if string(plain) != "x" {
		t.Fatal("plain reply")
	}
}

// TestDecodeErrorsNameTheField: a body of the wrong shape is SCHEMA_VIOLATION naming the field
// at fault, as the endpoint's schema explains it; one that is not JSON is MALFORMED_JSON.
func TestDecodeErrorsNameTheField(t *testing.T) {
	for _, c := range []struct {
		command, body string
		code          domain.Code
		field, says   string
	}{
		{"seat.register", `{"licenseId":1}`, CodeSchemaViolation, "licenseId", "got number, want string"},
		{"seat.register", `{"nope":1}`, CodeSchemaViolation, "nope", "unknown field"},
		{"seat.register", `{"licenseId":"a"} {}`, CodeMalformedJSON, "", "after the JSON object"},
		{"seat.register", `[1]`, CodeSchemaViolation, "", "got array, want object"},
		{"seat.register", `{"licenseId":"a"`, CodeMalformedJSON, "", "truncated"},
		{"seat.register", `{"expectedVersion":"three"}`, CodeSchemaViolation, "expectedVersion", "want integer"},
		{"credential.issue", `{"role":"user","scope":{"resellerId":5}}`, CodeSchemaViolation, "scope.resellerId", "want string"},
		{"credential.issue", `{"role":"user","scope":{"reseller":"r"}}`, CodeSchemaViolation, "scope.reseller", "unknown field"},
		{"plan.create", `{"productId":"p","name":"n","tier":"high","seats":"many"}`, CodeSchemaViolation, "tier", "2 faults in all"},
		{"seat.register", "{\"licenseId\":\"a\xffb\"}", CodeMalformedJSON, "", "invalid UTF-8 at byte 15"},
		{"seat.register", `{"licenseId":"a","endUserName":"b","licenseId":"c"}`, CodeMalformedJSON, "licenseId", "appears twice"},
		{"credential.issue", `{"role":"user","scope":{"resellerId":"a","tenantId":"t","resellerId":"b"}}`, CodeMalformedJSON, "resellerId", "appears twice"},
	} {
		_, err := commands[c.command].decode(c.command, []byte(c.body), &commandEnv{})
		e, ok := err.(*domain.Error)
		if !ok || e.Code != c.code || e.Field != c.field || !strings.Contains(e.Message, c.says) {
			t.Errorf("%s %s: got %v, want %s (%s) saying %q", c.command, c.body, err, c.code, c.field, c.says)
		}
	}
}

// TestDuplicateKeys: only a key twice in the same object is a duplicate, compared ignoring case
// as encoding/json matches fields; the scan and the token walk agree.
func TestDuplicateKeys(t *testing.T) {
	many := `{"x":{`
	for i := range 40 {
		many += fmt.Sprintf(`"k%d":%d,`, i, i)
	}
	cases := map[string]string{
		many + `"k7":1}}`:                                   "k7",
		many + `"k99":1}}`:                                  "",
		`{"licenseId":"a","LicenseID":"b"}`:                 "LicenseID",
		`{"a\u0062":1,"ab":2}`:                              "ab",
		`{"a":"x\"y","b":"\":"}`:                            "",
		`{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}],"d":"a"}`: "",
		`{"a":"b","b":"a"}`:                                 "",
		`{"a":{"x":1},"a":2}`:                               "a",
		`{"a":[{"x":1,"y":2,"x":3}]}`:                       "x",
		`{"a":[[],{}],"b":{"c":{"d":{}}},"b":null}`:         "b",
	}
	for body, want := range cases {
		if got, dup := duplicateKey([]byte(body)); got != want || dup != (want != "") {
			t.Errorf("%s: %q %v; want %q", body, got, dup, want)
		}
		if got, dup := duplicateKeyByTokens([]byte(body)); got != want || dup != (want != "") {
			t.Errorf("by tokens %s: %q %v; want %q", body, got, dup, want)
		}
	}
}

// FuzzCommandDecoding: whatever the body, every command's decoding (null check, strict decoding,
// the schema's explanation of a refusal) answers a decoded command or a coded error, never a panic.
func FuzzCommandDecoding(f *testing.F) {
	f.Add("seat.register", []byte(`{"licenseId":"l","endUserCompany":"A","endUserName":"b"}`))
	f.Add("plan.create", []byte(`{"productId":"p","name":"x","seats":1e99}`))
	f.Add("license.create", []byte(`{"resellerId":{"a":[[[[]]]]}}`))
	f.Add("credential.set-access", []byte(`{"credentialId":null,"access":{"licenses":null}}`))
	f.Add("batch.submit", []byte(`{"commands":[{"name":"seat.register","body":{"licenseId":"l","endUserCompany":"A","endUserName":"b"}},{"name":"x","body":1}]}`))
	s := testSecrets(f)
	names := CommandNames()
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		for _, n := range names {
			if n == domain.BatchSubmit && (n == name || len(name) == 0) {
				// A batch's commands go to their own decoders, as above.
				_, err := prepareBatch(body, &commandEnv{secrets: s, passwordRule: &domain.APIOPasswordRule, argonMemory: 8}, "")
				if _, ok := err.(*domain.Error); err != nil && !ok {
					t.Fatalf("uncoded error %T: %v", err, err)
				}
				continue
			}
			if n == name || len(name) == 0 {
				// A refusal is explained by the schema, which must not panic on anything either.
				p, err := commands[n].decode(n, body, &commandEnv{secrets: s, passwordRule: &domain.APIOPasswordRule, argonMemory: 8})
				if err == nil && p.cmd == nil {
					t.Fatal("decoded to no command")
				}
				if err != nil {
					if _, ok := err.(*domain.Error); !ok {
						t.Fatalf("uncoded error %T: %v", err, err)
					}
				}
			}
		}
	})
}

func FuzzWellFormedToken(f *testing.F) {
	s := testSecrets(f)
	tok, _, _ := s.NewToken()
	f.Add(tok)
	f.Add("lic_")
	f.Add("lic_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")
	f.Fuzz(func(t *testing.T, token string) {
		if WellFormedToken(token) && !strings.HasPrefix(token, TokenPrefix) {
			t.Fatal("accepted a token without the prefix")
		}
	})
}

func TestEveryCodeHasAStatus(t *testing.T) {
	for _, c := range Codes() {
		if s := statusOf(c); s == 500 && c != CodeInternal {
			t.Errorf("code %s has no wire status (would be 500)", c)
		}
	}
}

func TestAdminPasswordsAreHashedWithArgon2id(t *testing.T) {
	env := &commandEnv{secrets: testSecrets(t), passwordRule: &domain.APIOPasswordRule}
	p, err := commands["admin.create"].decode("admin.create", []byte(`{"resellerId":"r","username":"ann","userProfileType":"reseller-admin","password":"Secret12"}`), env)
	if err != nil {
		t.Fatal(err)
	}
	hash := p.cmd.(domain.AdminCreate).PasswordHash
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(hash, "Secret12") {
		t.Fatalf("stored form %q", hash)
	}
	_, err = commands["admin.create"].decode("admin.create", []byte(`{"resellerId":"r","username":"ann","userProfileType":"reseller-admin","password":"weak"}`), env)
	if e, _ := err.(*domain.Error); e == nil || e.Field != "password" {
		t.Fatalf("weak password: %v", err)
	}
	env.passwordRule = nil // the rule is the deployment's choice
	if _, err := commands["admin.create"].decode("admin.create", []byte(`{"resellerId":"r","username":"ann","userProfileType":"reseller-admin","password":"weak"}`), env); err != nil {
		t.Fatalf("weak password with the rule off: %v", err)
	}
	_, err = commands["admin.update"].decode("admin.update", []byte(`{"username":"ann","readOnly":true}`), env)
	if err != nil {
		t.Fatalf("decode: %v", err) // the domain refuses it, naming the field; decoding must not
	}
}

// TestMatrixCoversEveryOperation: the permission matrix and the served commands and queries are
// the same set, so nothing is served that the matrix does not decide.
func TestMatrixCoversEveryOperation(t *testing.T) {
	served := map[string]bool{}
	for _, n := range append(CommandNames(), QueryNames()...) {
		served[n] = true
	}
	listed := map[string]bool{}
	for _, op := range domain.Operations {
		listed[op] = true
		if !served[op] {
			t.Errorf("domain.Operations lists %s, which is not served", op)
		}
	}
	for n := range served {
		if !listed[n] {
			t.Errorf("%s is served but missing from domain.Operations (and so from the matrix)", n)
		}
	}
	if got, want := strings.Join(QueryNames(), ","), strings.Join(sortedKeys(setOf(domain.Queries)), ","); got != want {
		t.Errorf("served queries %s, domain.Queries %s", got, want)
	}
}

func setOf(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// TestLastLoginsSurviveARestart: a login is recorded in memory only, written by
// PersistLastLogins, and restored by the next NewLedger on the same log.
func TestLastLoginsSurviveARestart(t *testing.T) {
	tl := newTestLedger(t)
	l, store := tl.Ledger, tl.store
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return at }
	cred, f := l.Authenticate(tl.token, "")
	if f != nil {
		t.Fatal(f.Err)
	}
	if v, _ := l.creds.Get(cred.ID); v.LastLoginAt == nil || !v.LastLoginAt.Equal(at) {
		t.Fatalf("last login not recorded: %+v", v)
	}
	if err := l.PersistLastLogins(); err != nil {
		t.Fatal(err)
	}
	again, err := NewLedger(Options{Store: store, Secrets: testSecrets(t)})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := again.creds.Get(cred.ID); v.LastLoginAt == nil || !v.LastLoginAt.Equal(at) || v.IssuedAt.IsZero() {
		t.Fatalf("after a restart: %+v", v)
	}
}

// TestAuthenticationSeesAcknowledgedCredentialChanges: authentication answers from the read
// model, so it must wait for acknowledged credential changes to reach it. With the projector
// stopped it waits and gives up (503), rather than judging the token on stale state; running,
// a disable holds from the very next request.
func TestAuthenticationSeesAcknowledgedCredentialChanges(t *testing.T) {
	dir := t.TempDir()
	store, err := eventstore.Open(dir+"/log", eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	l, err := NewLedger(Options{Store: store, Secrets: testSecrets(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := l.Bootstrap(ctx, dir); err != nil {
		t.Fatal(err)
	}
	tok, _ := os.ReadFile(dir + "/" + BootstrapTokenFile)
	admin := strings.TrimSpace(string(tok))
	l.readTimeout = 100 * time.Millisecond

	reply, f := l.Command(ctx, Request{Name: "credential.issue", Body: []byte(`{"id":"c1","role":"developer","scope":{}}`), Token: admin})
	if f != nil {
		t.Fatal(f.Err)
	}
	token := string(reply[strings.Index(string(reply), "lic_"):])
	token = token[:strings.IndexByte(token, '"')]
	// The projector is not running: the new credential is acknowledged but not yet readable.
	if _, f := l.Authenticate(token, ""); f == nil || f.Status != 503 {
		t.Fatalf("authentication on a stale read model: %+v, want 503", f)
	}
	go l.Run(ctx)
	if _, f := l.Authenticate(token, ""); f != nil {
		t.Fatalf("after the projector caught up: %+v", f.Err)
	}
	if _, f := l.Command(ctx, Request{Name: "credential.disable", Body: []byte(`{"credentialId":"c1"}`), Token: admin}); f != nil {
		t.Fatal(f.Err)
	}
	if _, f := l.Authenticate(token, ""); f == nil || f.Status != 401 {
		t.Fatalf("right after an acknowledged disable: %+v, want 401", f)
	}
}
