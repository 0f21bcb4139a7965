package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseHeaders(t *testing.T) {
	h := http.Header{}
	if err := parseHeaders("# comment\n\nauthorization: Bearer abc:def\nX-Tenant:acme\nx-tenant: two\n", "f", h); err != nil {
		t.Fatal(err)
	}
	if h.Get("Authorization") != "Bearer abc:def" || strings.Join(h.Values("X-Tenant"), ",") != "acme,two" {
		t.Errorf("headers %v", h)
	}
	for _, bad := range []string{"no colon s3cret", ": s3cret", "Bad Name: s3cret", "X(y): s3cret", "X: s3cret\rb"} {
		err := parseHeaders("Ok: 1\n"+bad+"\n", "secret.headers", http.Header{})
		if err == nil || !strings.Contains(err.Error(), "secret.headers line 2") {
			t.Errorf("%q: %v", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: the error quotes the secret: %v", bad, err)
		}
	}
}

func TestWebhookHeadersFromEnvAndFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "h")
	os.WriteFile(f, []byte("X-B: 2\n"), 0o600)
	t.Setenv(webhookHeadersEnv, "X-A: 1")
	h, err := webhookHeaders(f)
	if err != nil || h.Get("X-A") != "1" || h.Get("X-B") != "2" {
		t.Errorf("%v %v", h, err)
	}
	if _, err := webhookHeaders(f + ".missing"); err == nil || !strings.Contains(err.Error(), "-webhook-header-file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestWebhookClientCAFile(t *testing.T) {
	if c, err := webhookClient(time.Second, ""); err != nil || c.Transport != nil {
		t.Errorf("no CA file: %v %v", c, err)
	}
	f := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(f, []byte("not a certificate"), 0o600)
	if _, err := webhookClient(time.Second, f); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad CA file: %v", err)
	}
}
