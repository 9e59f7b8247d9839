package osb

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// redactedText stands in for a secret in error text.
const redactedText = "<redacted>"

// minSecretLen is the shortest secret that is redacted: replacing every
// "ab" in a message would garble it, and a secret that short protects
// nothing anyway.
const minSecretLen = 4

// secrets are the strings a client must never repeat in an error: its
// password or token, and the forms a broker or a library may repeat them
// in. Errors end up in status conditions and events that many more people
// read than may see broker credentials, and a broker may echo what it was
// sent into its error description.
type secrets []string

// newSecrets lists auth's secrets, longest first so that a secret holding
// another one is replaced whole.
func newSecrets(auth *Auth) secrets {
	var raw []string
	switch {
	case auth == nil:
	case auth.Basic != nil && auth.Basic.Password != "":
		// The broker receives the password only inside this base64, and
		// a broker that echoes its Authorization header echoes this.
		userPass := base64.StdEncoding.EncodeToString([]byte(auth.Basic.Username + ":" + auth.Basic.Password))
		raw = append(raw, auth.Basic.Password, userPass)
	case auth.Bearer != nil:
		raw = append(raw, auth.Bearer.Token)
	}
	var s secrets
	for _, secret := range raw {
		// %q (net/http quotes a malformed status line) and URL escaping
		// change a secret with special characters; catch those forms too.
		quoted := strconv.Quote(secret)
		for _, form := range []string{secret, quoted[1 : len(quoted)-1], url.QueryEscape(secret), url.PathEscape(secret)} {
			if len(form) >= minSecretLen && !slices.Contains(s, form) {
				s = append(s, form)
			}
		}
	}
	slices.SortFunc(s, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return s
}

// redact replaces every secret in text.
func (s secrets) redact(text string) string {
	for _, secret := range s {
		text = strings.ReplaceAll(text, secret, redactedText)
	}
	return text
}

// redactError returns err with every secret replaced in its text. The
// package's typed errors keep their type and exported fields, so errors.As
// finds them as before; any other error whose text holds a secret is
// wrapped in a redactedError.
func (s secrets) redactError(err error) error {
	if err == nil || len(s) == 0 {
		return err
	}
	switch e := err.(type) {
	case *HTTPError:
		redacted := *e
		redacted.ErrorCode, redacted.Description = s.redact(e.ErrorCode), s.redact(e.Description)
		err = &redacted
	case *TransportError:
		err = &TransportError{Method: e.Method, Path: e.Path, Err: s.hide(e.Err)}
	case *MalformedResponseError:
		err = &MalformedResponseError{StatusCode: e.StatusCode, Method: e.Method, Path: e.Path, Err: s.hide(e.Err)}
	}
	// Whatever field a secret still hides in, the text returned is clean.
	return s.hide(err)
}

// hide wraps err in a redactedError when its text holds a secret.
func (s secrets) hide(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := s.redact(msg); clean != msg {
		return &redactedError{err: err, msg: clean}
	}
	return err
}

// redactedError is an error whose text held a secret: Error is that text
// with the secret replaced. It has Is and As rather than Unwrap, so that
// errors.Is and errors.As still match what it wraps, but code that walks
// the chain with errors.Unwrap to print it never reaches the original text.
type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }

func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }

func (e *redactedError) As(target any) bool { return errors.As(e.err, target) }

// redact replaces the client's secrets in *err. Every exported method
// defers it, so that no error the client returns repeats a credential,
// whichever path produced it.
func (c *Client) redact(err *error) { *err = c.secrets.redactError(*err) }

// RedactURL hides everything between a URL's scheme and its last '@': the
// one way a broker URL is shown in messages, here and in admission.
// It works on the string, not on a parsed URL: when a password holds an
// unescaped '/', '?' or '#', url.Parse takes part of it for the host or
// the path, and url.URL.Redacted would show it.
func RedactURL(raw string) string {
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return raw
	}
	start := 0
	if i := strings.Index(raw[:at], "://"); i >= 0 {
		start = i + len("://")
	}
	return raw[:start] + redactedText + raw[at:]
}

// parseBaseURL parses and checks the broker URL. No error repeats its
// userinfo: url.Parse's own errors (*url.Error) quote the whole URL, and
// their detail may quote the part of a password the parser took for a
// host, port or escape, so a URL with a '@' in it gets no parser detail.
func parseBaseURL(raw string) (*url.URL, error) {
	shown := RedactURL(raw)
	base, err := url.Parse(raw)
	if err != nil {
		if shown != raw {
			return nil, fmt.Errorf("broker URL %q is not a valid URL; percent-encode special characters in its credentials", shown)
		}
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("broker URL %q: %w", raw, err)
	}
	switch {
	case base.Scheme != "http" && base.Scheme != "https":
		return nil, fmt.Errorf("broker URL %q: scheme must be http or https", shown)
	case base.Host == "":
		return nil, fmt.Errorf("broker URL %q: no host", shown)
	case strings.Contains(base.EscapedPath()+base.RawQuery+base.EscapedFragment(), "@"):
		// An unescaped '/', '?' or '#' in the password moved the rest of
		// the userinfo after the host: the client would call the wrong
		// host and could quote the password's start as host or port.
		return nil, fmt.Errorf("broker URL %q: '@' after the host; percent-encode special characters in the credentials", shown)
	}
	return base, nil
}
