package session

import (
	"testing"

	"github.com/pfz-cli/pfz/internal/pyjson/pyjsontest"
)

// The vectors were computed by scripts/gen_session_vectors.py with Python's
// own json, hashlib, re and str; the Go side must reproduce every one. The
// float and JSON text vectors are pyjson's (internal/pyjson/testdata).

type vectorFile struct {
	JSON []struct {
		Value   pyjsontest.Typed `json:"value"`
		EnvHash string           `json:"env_hash"`
	} `json:"json"`
	Sessions []struct {
		Alias     string           `json:"alias"`
		LineageID string           `json:"lineage_id"`
		Env       pyjsontest.Typed `json:"env"`
		EnvHash   string           `json:"env_hash"`
		SessionID string           `json:"session_id"`
	} `json:"sessions"`
	Lineages []struct {
		Lineage, ID string
	} `json:"lineages"`
	Sanitize []struct {
		In  string `json:"in"`
		Out string `json:"out"`
	} `json:"sanitize"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	var v vectorFile
	pyjsontest.ReadVectors(t, &v)
	if len(v.JSON) < 100 || len(v.Sessions) < 20 || len(v.Sanitize) < 20 {
		t.Fatalf("vector file looks truncated: %d json, %d sessions, %d names",
			len(v.JSON), len(v.Sessions), len(v.Sanitize))
	}
	return v
}

// The text hashed is pyjson's, tested against the same values there.
func TestVectorsEnvironmentHash(t *testing.T) {
	v := loadVectors(t)
	for i, c := range v.JSON {
		h, err := EnvironmentHash(pyjsontest.Value(t, c.Value))
		if err != nil || h != c.EnvHash {
			t.Errorf("#%d EnvironmentHash = %s, %v; Python %s", i, h, err, c.EnvHash)
		}
	}
}

func TestVectorsSessionID(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Sessions {
		h, err := EnvironmentHash(pyjsontest.Value(t, c.Env))
		if err != nil || h != c.EnvHash {
			t.Fatalf("EnvironmentHash = %s, %v; want %s", h, err, c.EnvHash)
		}
		if got := ID(c.Alias, c.LineageID, h); got != c.SessionID {
			t.Errorf("ID(%q, %s, %s) = %s, Python %s", c.Alias, c.LineageID, h, got, c.SessionID)
		}
	}
	for _, c := range v.Lineages {
		if got := sha256Hex(c.Lineage); got != c.ID {
			t.Errorf("lineage hash of %q = %s, Python %s", c.Lineage, got, c.ID)
		}
	}
}

func TestVectorsSanitize(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Sanitize {
		if got := SanitizeName(c.In); got != c.Out {
			t.Errorf("SanitizeName(%q) = %q, Python %q", c.In, got, c.Out)
		}
	}
}
