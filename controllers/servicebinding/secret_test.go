package servicebinding

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnvVarName(t *testing.T) {
	tests := map[string]struct{ binding, key, want string }{
		"the design's example": {"mydb01-binding", "uri", "MYDB01_BINDING_URI"},
		"dots and dashes":      {"queue", "tls.ca-cert", "QUEUE_TLS_CA_CERT"},
		"leading digit":        {"1db", "host", "_1DB_HOST"},
		"already upper":        {"db", "PORT", "DB_PORT"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, EnvVarName(tc.binding, tc.key))
		})
	}
}

func TestEnvDataRefusesCollisions(t *testing.T) {
	got, err := envData("db", map[string][]byte{"uri": []byte("u"), "port": []byte("5432")})
	require.NoError(t, err)
	assert.Equal(t, map[string][]byte{"DB_URI": []byte("u"), "DB_PORT": []byte("5432")}, got)

	_, err = envData("db", map[string][]byte{"user-name": []byte("a"), "user_name": []byte("b")})
	require.Error(t, err)
	assert.Equal(t, `credential keys "user-name" and "user_name" both become variable DB_USER_NAME; rename one with spec.secretTransforms`, err.Error())
}

func TestCredentialData(t *testing.T) {
	got := credentialData(map[string]any{"uri": "db://x", "port": float64(5432), "tls": map[string]any{"ca": "PEM"}, "on": true})
	assert.Equal(t, map[string][]byte{"uri": []byte("db://x"), "port": []byte("5432"), "tls": []byte(`{"ca":"PEM"}`), "on": []byte("true")}, got)
}
