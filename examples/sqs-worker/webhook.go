package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"time"
)

// webhookHeadersEnv holds request headers for the webhook, one "Name: value"
// per line. Header values are secrets (an Authorization token, a Splunk HEC
// token), so they come from the environment or a file, never from a flag:
// the command line is visible to every user of the host (ps).
const webhookHeadersEnv = envPrefix + "WEBHOOK_HEADERS"

// parseHeaders reads "Name: value" lines (blank lines and # comments
// skipped). An error names the source and line, never the value.
func parseHeaders(text, source string, into http.Header) error {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !validHeaderName(name) || strings.ContainsAny(value, "\r\x00") {
			return fmt.Errorf("%s line %d: not a \"Name: value\" header", source, n)
		}
		into.Add(textproto.CanonicalMIMEHeaderKey(name), value)
	}
	return sc.Err()
}

// validHeaderName: an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c > 0x7e || c <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", c) {
			return false
		}
	}
	return true
}

// webhookHeaders gathers the headers of the environment and of the header
// file (-webhook-header-file), in that order.
func webhookHeaders(file string) (http.Header, error) {
	h := http.Header{}
	if v, ok := os.LookupEnv(webhookHeadersEnv); ok {
		if err := parseHeaders(v, webhookHeadersEnv, h); err != nil {
			return nil, err
		}
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("-webhook-header-file: %w", err)
		}
		if err := parseHeaders(string(b), file, h); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// webhookClient is the webhook's HTTP client: the system's CAs, plus those
// of caFile (PEM) for an endpoint behind a private CA.
func webhookClient(timeout time.Duration, caFile string) (*http.Client, error) {
	c := &http.Client{Timeout: timeout}
	if caFile == "" {
		return c, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("-webhook-ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("-webhook-ca-file: no PEM certificate in " + caFile)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c.Transport = t
	return c, nil
}
