package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
)

// slowDecode is decodeStrict's general path alone.
func slowDecode(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data")
	}
	if _, dup := duplicateKey(body); dup {
		return errors.New("duplicate key")
	}
	return nil
}

// fastTargets are request types of the hot paths and some the fast path must leave alone.
var fastTargets = []func() any{
	func() any { return new(seatRegisterWire) },
	func() any { return new(validateQuery) },
	func() any { return new(credentialIssueWire) },
	func() any { return new(batchWire) },
	func() any { return new(usageQuotaQuery) },
}

// TestFastDecode: the fast path takes the plain bodies of the hot paths and leaves the rest.
func TestFastDecode(t *testing.T) {
	for _, c := range []struct {
		body string
		fast bool
	}{
		{`{"licenseId":"l","endUserCompany":"Acme","endUserName":"ann"}`, true},
		{` { "licenseId" : "l" , "endUserName":"ann"} `, true},
		{`{}`, true},
		{`{"licenseId":"l","licenseId":"m"}`, false},     // twice
		{`{"LicenseID":"l"}`, false},                     // another spelling
		{`{"licenseId":"l\u0041"}`, false},               // an escape
		{`{"licenseId":"l","expectedVersion":3}`, false}, // not a string field
		{`{"licenseId":"l","other":"x"}`, false},         // unknown
		{`{"licenseId":null}`, false},                    // null
		{`{"licenseId":"l"} x`, false},                   // trailing data
		{`{"licenseId":"l",}`, false},                    // a trailing comma
		{"{\"licenseId\":\"\xff\"}", false},              // not UTF-8
		{`{"licenseId":"l","endUserCompany":"A","endUserName":"b","commandId":"c"}`, true},
	} {
		var w seatRegisterWire
		if got := fastDecode([]byte(c.body), &w); got != c.fast {
			t.Errorf("fastDecode(%s) = %v, want %v", c.body, got, c.fast)
		}
	}
	var w seatRegisterWire
	if !fastDecode([]byte(`{"licenseId":"l","endUserCompany":"Acme","endUserName":"ann","commandId":"c1"}`), &w) ||
		w.LicenseID != "l" || w.EndUserCompany != "Acme" || w.EndUserName != "ann" || w.CommandID != "c1" {
		t.Fatalf("decoded %+v", w)
	}
	if planFor(reflect.TypeFor[batchWire]()) == nil || planFor(reflect.TypeFor[batchWire]())["commands"] != nil {
		t.Fatal("batch.submit's commands are no plain string")
	}
}

// FuzzFastDecode: whatever the fast path takes, the general path takes too, with the same result.
func FuzzFastDecode(f *testing.F) {
	f.Add([]byte(`{"licenseId":"l","endUserCompany":"Acme","endUserName":"ann"}`))
	f.Add([]byte(`{"key":"K","fingerprint":"f"}`))
	f.Add([]byte(`{"role":"admin","scope":{}}`))
	f.Add([]byte(` {"licenseId" :"é" } `))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range fastTargets {
			fast, slow := target(), target()
			if !fastDecode(body, fast) {
				if !reflect.DeepEqual(fast, target()) {
					t.Fatalf("a refused body changed the target: %s", body)
				}
				continue
			}
			if err := slowDecode(body, slow); err != nil {
				t.Fatalf("the fast path took %q, which the general path refuses: %v", body, err)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("%q: fast %+v, general %+v", body, fast, slow)
			}
		}
	})
}
