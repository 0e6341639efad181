package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// defaultCert is the node's default certificate, loaded or generated
// once per node: every TLS listener without a configured certificate
// serves the same one, even when <prefix>/ssl cannot be written.
func (n *Node) defaultCert() (*tls.Certificate, error) {
	if n.defCert != nil {
		return n.defCert, nil
	}
	c, err := defaultCertificate(n.cfg.Prefix, n.log)
	if err != nil {
		return nil, err
	}
	n.defCert = c
	return c, nil
}

// defaultCertificate loads the node's default TLS certificate from
// <prefix>/ssl, generating a self-signed one on first use. A certificate
// that cannot be saved is still used (and a warning logged): the next
// start makes another.
func defaultCertificate(prefix string, log *slog.Logger) (*tls.Certificate, error) {
	dir := filepath.Join(prefix, "ssl")
	certPath, keyPath := filepath.Join(dir, "gatehouse-default.crt"), filepath.Join(dir, "gatehouse-default.key")
	if pair, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil {
		return &pair, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("default certificate: %w", err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"Gatehouse"}},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("default certificate: %w", err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("default certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	err = os.MkdirAll(dir, 0o700)
	if err == nil {
		err = os.WriteFile(keyPath, keyPEM, 0o600)
	}
	if err == nil {
		err = os.WriteFile(certPath, certPEM, 0o644)
	}
	if err != nil {
		log.Warn("the generated default certificate could not be saved", "dir", dir, "error", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("default certificate: %w", err)
	}
	return &pair, nil
}
