package snapshot

import (
	"crypto/tls"
	"log/slog"
	"strings"
)

// CertificateIndex selects the certificate for a TLS handshake by SNI, as
// Kong does: an exact SNI name first, then a leading wildcard
// (*.example.com), then a trailing one (example.*).
type CertificateIndex struct {
	exact  map[string]*tls.Certificate
	prefix map[string]*tls.Certificate // "*.example.com" stored as ".example.com"
	suffix map[string]*tls.Certificate // "example.*" stored as "example."
}

func buildCertificates(certs, snis []map[string]any, log *slog.Logger) *CertificateIndex {
	ix := &CertificateIndex{exact: map[string]*tls.Certificate{}, prefix: map[string]*tls.Certificate{}, suffix: map[string]*tls.Certificate{}}
	byID := map[string]*tls.Certificate{}
	for _, c := range certs {
		pair, err := tls.X509KeyPair([]byte(str(c, "cert")), []byte(str(c, "key")))
		if err != nil {
			log.Warn("certificate skipped", "id", str(c, "id"), "error", err)
			continue
		}
		if alt := str(c, "cert_alt"); alt != "" {
			if altPair, err := tls.X509KeyPair([]byte(alt), []byte(str(c, "key_alt"))); err == nil {
				pair.Certificate = append(pair.Certificate, altPair.Certificate...)
			}
		}
		byID[str(c, "id")] = &pair
	}
	for _, s := range snis {
		cert := byID[fid(s, "certificate")]
		name := strings.ToLower(str(s, "name"))
		if cert == nil || name == "" {
			continue
		}
		switch {
		case strings.HasPrefix(name, "*."):
			ix.prefix[name[1:]] = cert
		case strings.HasSuffix(name, ".*"):
			ix.suffix[name[:len(name)-1]] = cert
		default:
			ix.exact[name] = cert
		}
	}
	return ix
}

// Lookup returns the certificate for a server name, or nil.
func (ix *CertificateIndex) Lookup(serverName string) *tls.Certificate {
	if ix == nil {
		return nil
	}
	name := strings.ToLower(serverName)
	if c := ix.exact[name]; c != nil {
		return c
	}
	if i := strings.IndexByte(name, '.'); i >= 0 {
		if c := ix.prefix[name[i:]]; c != nil {
			return c
		}
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		if c := ix.suffix[name[:i+1]]; c != nil {
			return c
		}
	}
	return nil
}
