package licensefile_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/licledger/licledger/licensefile"
)

var t0 = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func signed(t testing.TB, l licensefile.License) ([]byte, []licensefile.Key) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{1}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	file, err := licensefile.Sign(l, priv)
	if err != nil {
		t.Fatal(err)
	}
	return file, []licensefile.Key{{ID: licensefile.KeyID(pub), PublicKey: pub}}
}

func sample() licensefile.License {
	return licensefile.License{LicenseID: "lic-1", ProductID: "p", PlanID: "plan", ResellerID: "r", TenantID: "t",
		Status: "active", Machines: 3, Entitlements: []string{"sso"}, Fingerprint: "m1",
		IssuedAt: t0, ValidUntil: t0.Add(30 * 24 * time.Hour), Sequence: 42}
}

// TestVerify: a good file verifies and says what was signed; each refusal has its reason.
func TestVerify(t *testing.T) {
	file, keys := signed(t, sample())
	got, err := licensefile.Verify(file, keys, t0.Add(time.Hour), "m1")
	if err != nil || got.LicenseID != "lic-1" || got.Sequence != 42 || got.Entitlements[0] != "sso" || !got.ValidUntil.Equal(t0.Add(30*24*time.Hour)) {
		t.Fatalf("Verify: %+v, %v", got, err)
	}
	for _, c := range []struct {
		name string
		file []byte
		keys []licensefile.Key
		now  time.Time
		fp   string
		want error
	}{
		{"expired", file, keys, t0.Add(31 * 24 * time.Hour), "m1", licensefile.ErrExpired},
		{"another machine", file, keys, t0, "m2", licensefile.ErrWrongFingerprint},
		{"no machine said", file, keys, t0, "", licensefile.ErrWrongFingerprint},
		{"unknown key", file, []licensefile.Key{{ID: "0000000000000000", PublicKey: keys[0].PublicKey}}, t0, "m1", licensefile.ErrUnknownKey},
		{"not a file", []byte("hello"), keys, t0, "m1", licensefile.ErrMalformed},
	} {
		if _, err := licensefile.Verify(c.file, c.keys, c.now, c.fp); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestAnyChangedByteIsRefused: every byte of the file changed to every other printable byte is
// refused (the trailing newline aside, which is whitespace).
func TestAnyChangedByteIsRefused(t *testing.T) {
	file, keys := signed(t, sample())
	file = bytes.TrimSpace(file)
	for i := range file {
		for c := byte(0x21); c < 0x7f; c++ {
			if c == file[i] {
				continue
			}
			changed := bytes.Clone(file)
			changed[i] = c
			if _, err := licensefile.Verify(changed, keys, t0, "m1"); err == nil {
				t.Fatalf("byte %d changed to %q: still verifies", i, c)
			}
		}
	}
}

// FuzzParse: nothing makes the decoder panic, and nothing but a file signed by the key verifies.
func FuzzParse(f *testing.F) {
	file, keys := signed(f, sample())
	f.Add(file)
	f.Add([]byte("a.b.c"))
	f.Add([]byte("eyJhbGciOiJFZERTQSJ9.e30.AAAA"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := licensefile.Parse(b, keys); err == nil && !bytes.Equal(bytes.TrimSpace(b), bytes.TrimSpace(file)) {
			t.Fatalf("%q verifies without being signed", b)
		}
	})
}
