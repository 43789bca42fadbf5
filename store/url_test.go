package store_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/store"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url   string
		wantDialect store.Dialect
		wantWhere   string
		wantDSN     []string // substrings the driver DSN must contain
		wantErr     string   // substring of the error; "" means success
	}{
		{name: "empty means sqlite in data dir", url: "", wantDialect: store.SQLite,
			wantWhere: "sqlite " + filepath.Join("/data", store.SQLiteFileName),
			wantDSN:   []string{"foreign_keys", "journal_mode%28WAL%29", "busy_timeout", "_time_format=sqlite"}},
		{name: "sqlite absolute", url: "sqlite:///var/lib/mb/mb.db", wantDialect: store.SQLite, wantWhere: "sqlite /var/lib/mb/mb.db"},
		{name: "sqlite relative", url: "sqlite:mb.db", wantDialect: store.SQLite, wantWhere: "sqlite mb.db"},
		{name: "mysql full", url: "mysql://mb:s3cret@db.internal:3307/shop", wantDialect: store.MySQL,
			wantWhere: "mysql db.internal:3307/shop",
			wantDSN:   []string{"mb:s3cret@tcp(db.internal:3307)/shop", "parseTime=true", "collation=utf8mb4_unicode_ci"}},
		{name: "mysql default port", url: "mysql://root@127.0.0.1/test", wantDialect: store.MySQL,
			wantWhere: "mysql 127.0.0.1:3306/test", wantDSN: []string{"root@tcp(127.0.0.1:3306)/test"}},
		{name: "mariadb alias", url: "mariadb://root@localhost:3306/test", wantDialect: store.MySQL},
		{name: "mysql extra params pass through", url: "mysql://root@h:3306/db?tls=skip-verify&readTimeout=5s", wantDialect: store.MySQL,
			wantDSN: []string{"tls=skip-verify", "readTimeout=5s"}},
		{name: "unknown scheme", url: "postgres://u:p@h/db", wantErr: `unknown database scheme "postgres"`},
		{name: "no scheme", url: "just-a-file.db", wantErr: "has no scheme"},
		{name: "malformed", url: "mysql://root:%zz@h/db", wantErr: "malformed"},
		{name: "mysql without database", url: "mysql://root@127.0.0.1:3306/", wantErr: "must name one database"},
		{name: "mysql without host", url: "mysql:///db", wantErr: "has no host"},
		{name: "sqlite without path", url: "sqlite://", wantErr: "no file path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := store.ParseURL(tt.url, "/data")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if !errors.Is(err, store.ErrConfig) {
					t.Errorf("err = %v, want ErrConfig", err)
				}
				if strings.Contains(err.Error(), "%zz") || strings.Contains(err.Error(), "u:p@") {
					t.Errorf("error repeats the URL and its credentials: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got.Dialect != tt.wantDialect {
				t.Errorf("dialect = %s, want %s", got.Dialect, tt.wantDialect)
			}
			if tt.wantWhere != "" && got.Where != tt.wantWhere {
				t.Errorf("where = %q, want %q", got.Where, tt.wantWhere)
			}
			for _, s := range tt.wantDSN {
				if !strings.Contains(got.DSN, s) {
					t.Errorf("DSN %q lacks %q", got.DSN, s)
				}
			}
			if strings.Contains(got.Where, "s3cret") {
				t.Errorf("where %q shows the password", got.Where)
			}
		})
	}
}
