package portalapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
)

// Developer password resets (PORTALSPEC §3.6; C-code Kong EE
// kong/portal/api.lua /forgot-password, /validate-reset, /reset-password
// and kong/portal/emails.lua password_reset):
//
//   - POST /forgot-password {email}: 200 with an empty body whether or not
//     a developer has the email. For a developer, a reset token is made;
//     Kong mails <portal_gui_url>/reset-password?token=<token>. Gatehouse
//     has no SMTP: the link is logged at info level (the stand-in for the
//     mail, as for the admins' resets), never put in an answer — Kong's
//     answer carries no token either, smtp_mock or not.
//   - POST /validate-reset {token}: 200 while the token is live.
//   - POST (Kong) or PATCH /reset-password {token, password}: sets the
//     developer's password, once.
//
// The token is "<claims>.<random>": base64url JSON {"id": <developer id>,
// "exp": <unix seconds>} and 32 random bytes in hex (store.RandomToken). Kong's is an HS256 JWT with
// the same claims, signed with a secret kept in consumer_reset_secrets
// [D]: Gatehouse keeps only the SHA-256 digest of the whole token in
// reset_secrets (subject "developer:<id>"), so the table holds nothing
// that opens a reset, and the claims cannot be changed (a later exp,
// another developer's id) without the digest failing. A new token
// replaces the developer's earlier one; a used one is consumed. The expiry
// is the workspace's portal_token_exp, else Kong's default 21600 seconds.

// Kong's default portal_token_exp, in seconds.
const defaultTokenExp = 21600

// The messages of the reset routes.
const (
	msgTokenRequired    = "token is required"
	msgResetPwRequired  = "password is required"
	resetSubjectPrefix  = "developer:"
	maxResetTokenLength = 1024
)

// errBadResetToken is any token that is not a live reset token.
var errBadResetToken = errors.New("portal api: invalid or expired reset token")

// ResetRequest is a /validate-reset or /reset-password body.
type ResetRequest struct {
	Token, Password string
}

// ParseResetRequest reads {token, password} from a decoded body; msg is
// Kong's 400 message when the token is missing (the password is checked
// by /reset-password once the token is known good, as Kong does).
func ParseResetRequest(in map[string]any) (r ResetRequest, msg string) {
	r.Token, _ = in["token"].(string)
	r.Password, _ = in["password"].(string)
	if strings.TrimSpace(r.Token) == "" {
		return ResetRequest{}, msgTokenRequired
	}
	return r, ""
}

// resetClaims are a reset token's claims.
type resetClaims struct {
	ID  string `json:"id"`
	Exp int64  `json:"exp"`
}

// parseResetToken reads a token's claims (not yet checked against the
// stored digest).
func parseResetToken(token string) (resetClaims, error) {
	if len(token) > maxResetTokenLength {
		return resetClaims{}, errBadResetToken
	}
	claims, random, ok := strings.Cut(token, ".")
	if !ok || random == "" || strings.Contains(random, ".") {
		return resetClaims{}, errBadResetToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(claims)
	if err != nil {
		return resetClaims{}, errBadResetToken
	}
	var c resetClaims
	if json.Unmarshal(raw, &c) != nil || !store.IsUUID(c.ID) || c.Exp <= 0 {
		return resetClaims{}, errBadResetToken
	}
	return c, nil
}

// tokenDigest is what reset_secrets keeps of a token.
func tokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// now is the API's clock.
func (a *api) now() time.Time {
	if a.opts.Now != nil {
		return a.opts.Now()
	}
	return time.Now()
}

// tokenExpiry is the portal_token_exp in force.
func (a *api) tokenExpiry(c *fiber.Ctx) time.Duration {
	if n, ok := intOf(config(c)["portal_token_exp"]); ok && n > 0 {
		return time.Duration(n) * time.Second
	}
	return defaultTokenExp * time.Second
}

// issueResetToken makes a new reset token of the developer, replacing
// any earlier one.
func (a *api) issueResetToken(ctx context.Context, developerID, clientAddr string, expiry time.Duration) (string, error) {
	claims, err := json.Marshal(resetClaims{ID: developerID, Exp: a.now().Add(expiry).Unix()})
	if err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(claims) + "." + store.RandomToken() + store.RandomToken()
	subject := resetSubjectPrefix + developerID
	in := map[string]any{"subject": subject, "secret": tokenDigest(token), "status": int64(store.ResetSecretPending),
		"ttl": int64(expiry/time.Second) + 60}
	if clientAddr != "" {
		in["client_addr"] = clientAddr
	}
	if _, err := a.opts.Store.Upsert(store.WithTypedInput(ctx), "reset_secrets", subject, in); err != nil {
		return "", fmt.Errorf("portal api: storing the reset token: %w", err)
	}
	return token, nil
}

// checkResetToken returns the developer id of a live reset token, or
// errBadResetToken.
func (a *api) checkResetToken(ctx context.Context, token string) (string, error) {
	claims, err := parseResetToken(token)
	if err != nil {
		return "", err
	}
	rec, err := a.opts.Store.Get(ctx, "reset_secrets", resetSubjectPrefix+claims.ID)
	if store.IsNotFound(err) {
		return "", errBadResetToken
	}
	if err != nil {
		return "", err
	}
	stored, _ := rec["secret"].(string)
	if n, _ := intOf(rec["status"]); n != store.ResetSecretPending ||
		subtle.ConstantTimeCompare([]byte(stored), []byte(tokenDigest(token))) != 1 ||
		a.now().Unix() >= claims.Exp {
		return "", errBadResetToken
	}
	return claims.ID, nil
}

// resetEnabled answers 404 unless the portal signs developers in with a
// password (Kong: validate_auth_plugin), reporting whether it may go on.
func (a *api) resetEnabled(c *fiber.Ctx) (bool, error) {
	if a.authMethod(c) != basicAuth {
		return false, message(c, fiber.StatusNotFound, msgNotFound)
	}
	if _, ok := a.opts.Store.Registry().Entity("reset_secrets"); !ok {
		return false, message(c, fiber.StatusNotFound, msgNotFound)
	}
	return true, nil
}

// portalGUIURL is the portal's URL for the reset link: Options.GUIURL,
// else the first CORS origin (runtime/app sets it to
// portal_gui_protocol://portal_gui_host).
func (a *api) portalGUIURL() string {
	if a.opts.GUIURL != "" {
		return strings.TrimSuffix(a.opts.GUIURL, "/")
	}
	if len(a.opts.CORSOrigins) > 0 && a.opts.CORSOrigins[0] != "*" {
		return strings.TrimSuffix(a.opts.CORSOrigins[0], "/")
	}
	return ""
}

// forgotPassword is POST /forgot-password {email}: 200, empty, always.
func (a *api) forgotPassword(c *fiber.Ctx) error {
	if ok, err := a.resetEnabled(c); !ok {
		return err
	}
	in, err := a.input(c)
	if err != nil {
		return a.fail(c, err)
	}
	email, _ := in["email"].(string)
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return message(c, fiber.StatusBadRequest, msgEmailRequired)
	}
	dev, err := a.opts.Store.Get(c.UserContext(), "developers", email)
	if store.IsNotFound(err) {
		c.Status(fiber.StatusOK)
		return nil
	}
	if err != nil {
		return a.fail(c, err)
	}
	expiry := a.tokenExpiry(c)
	token, err := a.issueResetToken(c.UserContext(), fmt.Sprint(dev["id"]), c.IP(), expiry)
	if err != nil {
		return a.fail(c, err)
	}
	a.log.Info("portal: password reset (no SMTP: this log line stands in for the mail)",
		"email", email, "expires_in", expiry.String(),
		"url", a.portalGUIURL()+"/reset-password?token="+url.QueryEscape(token))
	c.Status(fiber.StatusOK)
	return nil
}

// resetToken reads the body's token and checks it; "" when it answered
// (400 without a token, 401 for a token that is not live).
func (a *api) resetToken(c *fiber.Ctx) (devID string, r ResetRequest, err error) {
	if ok, err := a.resetEnabled(c); !ok {
		return "", r, err
	}
	in, err := a.input(c)
	if err != nil {
		return "", r, a.fail(c, err)
	}
	r, msg := ParseResetRequest(in)
	if msg != "" {
		return "", r, message(c, fiber.StatusBadRequest, msg)
	}
	devID, err = a.checkResetToken(c.UserContext(), r.Token)
	if errors.Is(err, errBadResetToken) {
		return "", r, message(c, fiber.StatusUnauthorized, msgUnauthorized)
	}
	if err != nil {
		return "", r, a.fail(c, err)
	}
	return devID, r, nil
}

// validateReset is POST /validate-reset {token}: 200 while it is live.
func (a *api) validateReset(c *fiber.Ctx) error {
	devID, _, err := a.resetToken(c)
	if devID == "" {
		return err
	}
	c.Status(fiber.StatusOK)
	return nil
}

// resetPassword is POST or PATCH /reset-password {token, password}: the
// developer's new password; the token is spent.
func (a *api) resetPassword(c *fiber.Ctx) error {
	devID, r, err := a.resetToken(c)
	if devID == "" {
		return err
	}
	if r.Password == "" {
		return message(c, fiber.StatusBadRequest, msgResetPwRequired)
	}
	ctx := store.WithTypedInput(c.UserContext())
	if _, err := a.opts.Store.Update(ctx, "developers", devID, map[string]any{"password": r.Password}); err != nil {
		return a.fail(c, err)
	}
	if _, err := a.opts.Store.Update(ctx, "reset_secrets", resetSubjectPrefix+devID,
		map[string]any{"status": int64(store.ResetSecretConsumed), "ttl": int64(a.tokenExpiry(c)/time.Second) + 60}); err != nil {
		return a.fail(c, err)
	}
	c.Status(fiber.StatusOK)
	return nil
}
