package config_test

import (
	"bytes"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"tim/internal/config"
)

func load(env map[string]string) (config.Config, error) {
	return config.Load(nil, func(k string) string { return env[k] }, io.Discard)
}

func logged(t *testing.T, c config.Config) string {
	t.Helper()
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", slog.Any("config", c))
	return buf.String()
}

func TestNATSURLCredentialsAreMasked(t *testing.T) {
	t.Parallel()
	for url, want := range map[string]string{
		"nats://tim:pa55word@nats-1:4222":                     "nats://tim:***@nats-1:4222",
		"nats://s3cr3t-token@nats-1:4222":                     "nats://***@nats-1:4222",
		"tls://tim:pa55word@a:4222,tls://tim:pa55word@b:4222": "tls://tim:***@a:4222,tls://tim:***@b:4222",
		"s3cr3t-token@nats-1:4222,nats-2:4222":                "***@nats-1:4222,nats-2:4222",
		"nats://nats-1:4222":                                  "nats://nats-1:4222",
	} {
		c, err := load(map[string]string{"TIM_NATS_URL": url})
		if err != nil {
			t.Fatal(err)
		}
		out := logged(t, c)
		if strings.Contains(out, "pa55word") || strings.Contains(out, "s3cr3t-token") {
			t.Errorf("%s: secret in log: %s", url, out)
		}
		if !strings.Contains(out, "nats_url="+want) {
			t.Errorf("%s: want nats_url=%s in %s", url, want, out)
		}
	}
}

func TestNATSCredentialSettings(t *testing.T) {
	t.Parallel()
	c, err := load(map[string]string{
		"TIM_NATS_URL": "tls://nats:4222", "TIM_NATS_CREDS": "/etc/tim/nats.creds",
		"TIM_NATS_CA": "/etc/tim/ca.pem", "TIM_NATS_CERT": "/etc/tim/cert.pem", "TIM_NATS_KEY": "/etc/tim/key.pem",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.NATS.CredsFile != "/etc/tim/nats.creds" || c.NATS.CAFile != "/etc/tim/ca.pem" ||
		c.NATS.CertFile != "/etc/tim/cert.pem" || c.NATS.KeyFile != "/etc/tim/key.pem" {
		t.Errorf("config = %+v", c)
	}

	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"creds without url": {map[string]string{"TIM_NATS_CREDS": "x"}, "TIM_NATS_CREDS: needs TIM_NATS_URL"},
		"ca without url":    {map[string]string{"TIM_NATS_CA": "x"}, "TIM_NATS_CA: needs TIM_NATS_URL"},
		"creds and nkey": {
			map[string]string{"TIM_NATS_URL": "nats://n", "TIM_NATS_CREDS": "x", "TIM_NATS_NKEY": "y"},
			"either TIM_NATS_CREDS or TIM_NATS_NKEY",
		},
		"cert without key": {
			map[string]string{"TIM_NATS_URL": "nats://n", "TIM_NATS_CERT": "x"},
			"TIM_NATS_CERT, TIM_NATS_KEY: set both or neither",
		},
		"key without cert": {
			map[string]string{"TIM_NATS_URL": "nats://n", "TIM_NATS_KEY": "x"},
			"TIM_NATS_CERT, TIM_NATS_KEY: set both or neither",
		},
	} {
		if _, err := load(tc.env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
}

// TestDatabaseURLPasswordIsMasked: the password of TIM_DATABASE_URL never
// reaches the log, in either form pgx accepts.
func TestDatabaseURLPasswordIsMasked(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]string{
		"postgres://tim:pa55word@db:5432/tim":                               "postgres://tim:***@db:5432/tim",
		"postgresql://tim:pa55word@h1:5432,h2:5432/tim?sslmode=require":     "postgresql://tim:***@h1:5432,h2:5432/tim?sslmode=require",
		"postgres://tim:pa55%40word@db/tim":                                 "postgres://tim:***@db/tim",
		"postgres://tim@db/tim?sslmode=require&password=pa55word":           "postgres://tim@db/tim?sslmode=require&password=***",
		"postgres://tim@db/tim?options=-c%20a%3Db":                          "postgres://tim@db/tim?options=-c%20a%3Db",
		"postgres://db/tim":                                                 "postgres://db/tim",
		"host=db user=tim password=pa55word dbname=tim":                     "host=db user=tim password=*** dbname=tim",
		"host=db password = pa55word":                                       "host=db password = ***",
		`host=db password='pa55 word \' quoted' dbname=tim sslmode=disable`: "host=db password=*** dbname=tim sslmode=disable",
		`password=pa55\ word host=db`:                                       "password=*** host=db",
		"host=/tmp/pg user=postgres dbname=tim":                             "host=/tmp/pg user=postgres dbname=tim",
		"host=db password='pa55word":                                        "database_url=***",
		"pa55word":                                                          "database_url=***",
	} {
		c, err := load(map[string]string{"TIM_DATABASE_URL": dsn})
		if err != nil {
			t.Fatal(err)
		}
		out := logged(t, c)
		if strings.Contains(out, "pa55") {
			t.Errorf("%s: password in log: %s", dsn, out)
		}
		if !strings.Contains(out, want) {
			t.Errorf("%s: want %s in %s", dsn, want, out)
		}
	}
}

func TestJWTSecretIsMasked(t *testing.T) {
	t.Parallel()
	secret := "s3cr3t-0123456789abcdefghijklmnopqrstuvwxyz"
	c, err := load(map[string]string{"TIM_JWT_SECRET": secret})
	if err != nil {
		t.Fatal(err)
	}
	if out := logged(t, c); strings.Contains(out, "s3cr3t") || !strings.Contains(out, "jwt_secret=***") {
		t.Errorf("secret not masked: %s", out)
	}
}

func TestAllowedOrigins(t *testing.T) {
	t.Parallel()
	c, err := load(map[string]string{"TIM_ALLOWED_ORIGINS": "https://app.example.com, http://localhost:5173,*"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://app.example.com", "http://localhost:5173", "*"}; !slices.Equal(c.HTTP.AllowedOrigins, want) {
		t.Errorf("AllowedOrigins = %q, want %q", c.HTTP.AllowedOrigins, want)
	}
	// Entries a browser's Origin header can never equal are refused.
	for _, bad := range []string{"app.example.com", "https://app.example.com/", "https://app.example.com/app", "ftp://app.example.com", "https://", "https://u@app.example.com", "https://app.example.com?x"} {
		if _, err := load(map[string]string{"TIM_ALLOWED_ORIGINS": bad}); err == nil || !strings.Contains(err.Error(), "TIM_ALLOWED_ORIGINS") {
			t.Errorf("%q: err %v, want a TIM_ALLOWED_ORIGINS error", bad, err)
		}
	}
}
