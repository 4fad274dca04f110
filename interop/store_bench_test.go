package interop

// BenchmarkSessionCheck puts numbers on "verifying an access token is much
// faster than looking a session up in a database": the per-request check
// of a stateless service next to the one of a stateful service, in one run.
//
//	go test -run '^$' -bench SessionCheck -benchmem -count 5
//
//   - <alg>/latch-miss: verifier.Verify of the benchmark token (see
//     benchClaims; typ at+jwt, static keys) with the token cache disabled
//     (CacheSize -1): header, signature, claims decoding and checks, every
//     time. What a token the service has not seen recently costs.
//   - <alg>/latch-hit: the same with the cache on (the default size) and
//     warmed by one Verify: what the same token costs on its next request.
//   - redis-get: a GET of a session record (sessionRecord as JSON, about
//     300 bytes) by its 32-hex-character id, with go-redis's pooled client,
//     from Redis at 127.0.0.1:6379 or $LATCH_TEST_REDIS_ADDR.
//   - postgres-select: a primary-key SELECT of a session row (id, user_id,
//     roles text[], expires_at timestamptz, data jsonb holding the same
//     record) with pgxpool, which prepares and caches the statement per
//     connection, from PostgreSQL at $LATCH_TEST_POSTGRES_DSN (default
//     postgresDSN). The table, made for the run, holds sessionRows rows and
//     is dropped afterwards.
//   - redis-get-parallel, postgres-select-parallel: the same lookups from
//     GOMAXPROCS goroutines at once (b.RunParallel), as a service serving
//     concurrent requests does. Their ns/op is wall time over all
//     lookups, the inverse of throughput, not the latency of one.
//
// The lookups are measured with the deck stacked in their favour, so the
// ratios are lower bounds: the server is on loopback, on the same machine,
// with the row or key hot in memory; the record is read but not decoded
// (the latch lines decode and check every claim); and nothing checks the
// session afterwards. The server shares the machine's cores with the
// benchmark, so its CPU time counts against the lookup but also competes
// with it. Over a real network each lookup adds at least one round trip
// (typically 100 µs to 1 ms within a data centre).
//
// The Redis and PostgreSQL lines are skipped, with the reason, when the
// server cannot be reached; the latch lines always run.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/latch-auth/latch/verifier"
)

const (
	// redisAddr is where the benchmarks find Redis unless
	// LATCH_TEST_REDIS_ADDR says otherwise.
	redisAddr = "127.0.0.1:6379"
	// postgresDSN is where the benchmarks find PostgreSQL unless
	// LATCH_TEST_POSTGRES_DSN says otherwise.
	postgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	// sessionRows is how many sessions the benchmark table holds, so that
	// the lookup goes through the primary-key index of a table of some
	// size rather than a scan of one row.
	sessionRows = 10_000
	// dialTimeout bounds reaching a server before its benchmarks skip.
	dialTimeout = 2 * time.Second
)

// sessionRecord is what a stateful service keeps per session: the record a
// session cookie or opaque token points to.
type sessionRecord struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	ClientID  string    `json:"client_id"`
	Scope     string    `json:"scope"`
	Roles     []string  `json:"roles"`
	ExpiresAt time.Time `json:"expires_at"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
}

// newSessionRecord returns a session for the benchmark token's subject,
// with a fresh 32-hex-character id, and its JSON encoding.
func newSessionRecord(tb testing.TB) (sessionRecord, []byte) {
	tb.Helper()
	c := benchClaims(tb)
	id := make([]byte, 16)
	rand.Read(id)
	now := time.Now().UTC().Truncate(time.Second)
	s := sessionRecord{
		ID:        hex.EncodeToString(id),
		UserID:    c.Subject,
		ClientID:  c.ClientID,
		Scope:     c.Scope,
		Roles:     c.Roles,
		ExpiresAt: now.Add(time.Hour),
		IP:        "203.0.113.42",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
	}
	data, err := json.Marshal(s)
	if err != nil {
		tb.Fatalf("json.Marshal(session): %v", err)
	}
	return s, data
}

func BenchmarkSessionCheck(b *testing.B) {
	for _, alg := range benchAlgs {
		f, want, token := benchToken(b, alg)
		for _, mode := range []struct {
			name      string
			cacheSize int
		}{
			{"latch-miss", -1},
			{"latch-hit", 0}, // 0: verifier.DefaultCacheSize
		} {
			b.Run(string(alg)+"/"+mode.name, func(b *testing.B) {
				ctx := b.Context()
				v, err := verifier.New(ctx, verifier.Config{
					Issuers:   []verifier.Issuer{{Issuer: issuer, Audience: audience, Keys: f.trusted}},
					Leeway:    leeway,
					CacheSize: mode.cacheSize,
				})
				if err != nil {
					b.Fatalf("verifier.New: %v", err)
				}
				b.Cleanup(v.Close)
				if _, err := v.Verify(ctx, token); err != nil {
					b.Fatalf("Verify: %v", err)
				}
				for b.Loop() {
					c, err := v.Verify(ctx, token)
					if err != nil {
						b.Fatal(err)
					}
					if c.Scope != want.Scope || len(c.Roles) != 2 || c.Roles[1] != "support" {
						b.Fatalf("decoded scope %q roles %q, want %q %q", c.Scope, c.Roles, want.Scope, want.Roles)
					}
				}
			})
		}
	}

	b.Run("redis-get", func(b *testing.B) {
		rdb, key, record := redisSession(b)
		ctx := b.Context()
		for b.Loop() {
			got, err := rdb.Get(ctx, key).Bytes()
			if err != nil {
				b.Fatal(err)
			}
			if len(got) != len(record) {
				b.Fatalf("GET %s: %d bytes, want %d", key, len(got), len(record))
			}
		}
	})

	b.Run("redis-get-parallel", func(b *testing.B) {
		rdb, key, record := redisSession(b)
		ctx := b.Context()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				got, err := rdb.Get(ctx, key).Bytes()
				if err != nil {
					b.Error(err)
					return
				}
				if len(got) != len(record) {
					b.Errorf("GET %s: %d bytes, want %d", key, len(got), len(record))
					return
				}
			}
		})
	})

	b.Run("postgres-select", func(b *testing.B) {
		pool, query, s := postgresSession(b)
		ctx := b.Context()
		for b.Loop() {
			if err := selectSession(ctx, pool, query, s); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("postgres-select-parallel", func(b *testing.B) {
		pool, query, s := postgresSession(b)
		ctx := b.Context()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := selectSession(ctx, pool, query, s); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// redisSession connects to the benchmark Redis, stores a session record
// under its id for the length of the benchmark, and returns the client,
// the key and the stored value. It skips b when Redis cannot be reached.
func redisSession(b *testing.B) (*redis.Client, string, []byte) {
	b.Helper()
	addr := os.Getenv("LATCH_TEST_REDIS_ADDR")
	if addr == "" {
		addr = redisAddr
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: dialTimeout})
	b.Cleanup(func() { rdb.Close() })
	ctx, cancel := context.WithTimeout(b.Context(), dialTimeout)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		b.Skipf("redis at %s unreachable: %v", addr, err)
	}
	s, record := newSessionRecord(b)
	if err := rdb.Set(ctx, s.ID, record, time.Hour).Err(); err != nil {
		b.Fatalf("SET %s: %v", s.ID, err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
		defer cancel()
		if err := rdb.Del(ctx, s.ID).Err(); err != nil {
			b.Errorf("DEL %s: %v", s.ID, err)
		}
	})
	return rdb, s.ID, record
}

// postgresSession connects to the benchmark PostgreSQL, creates a
// uniquely named sessions table of sessionRows rows (one of them s),
// dropped when b ends, and returns the pool, the primary-key query on
// that table and s. It skips b when PostgreSQL cannot be reached.
func postgresSession(b *testing.B) (*pgxpool.Pool, string, sessionRecord) {
	b.Helper()
	dsn := os.Getenv("LATCH_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = postgresDSN
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		b.Fatalf("pgxpool.ParseConfig: %v", err)
	}
	cfg.ConnConfig.ConnectTimeout = dialTimeout
	setup, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(setup, cfg)
	if err != nil {
		b.Fatalf("pgxpool.NewWithConfig: %v", err)
	}
	b.Cleanup(pool.Close)
	if err := pool.Ping(setup); err != nil {
		b.Skipf("postgres at %s:%d unreachable: %v", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}

	s, record := newSessionRecord(b)
	table := pgx.Identifier{"latch_bench_sessions_" + s.ID[:12]}.Sanitize()
	if _, err := pool.Exec(setup, `CREATE TABLE `+table+` (
		id         text PRIMARY KEY,
		user_id    text NOT NULL,
		roles      text[] NOT NULL,
		expires_at timestamptz NOT NULL,
		data       jsonb NOT NULL
	)`); err != nil {
		b.Fatalf("create sessions table: %v", err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, `DROP TABLE `+table); err != nil {
			b.Errorf("drop sessions table: %v", err)
		}
	})
	// The other sessions get md5 ids, which are 32 hex characters too.
	if _, err := pool.Exec(setup, `INSERT INTO `+table+` (id, user_id, roles, expires_at, data)
		SELECT md5(i::text), $1, $2, $3, $4 FROM generate_series(1, $5::int) AS i`,
		s.UserID, s.Roles, s.ExpiresAt, record, sessionRows-1); err != nil {
		b.Fatalf("insert sessions: %v", err)
	}
	if _, err := pool.Exec(setup, `INSERT INTO `+table+` (id, user_id, roles, expires_at, data)
		VALUES ($1, $2, $3, $4, $5)`, s.ID, s.UserID, s.Roles, s.ExpiresAt, record); err != nil {
		b.Fatalf("insert session: %v", err)
	}
	if _, err := pool.Exec(setup, `ANALYZE `+table); err != nil {
		b.Fatalf("analyze sessions: %v", err)
	}
	query := `SELECT user_id, roles, expires_at, data FROM ` + table + ` WHERE id = $1 AND expires_at > now()`
	return pool, query, s
}

// selectSession runs query for s and checks the row it returns.
func selectSession(ctx context.Context, pool *pgxpool.Pool, query string, s sessionRecord) error {
	var (
		userID  string
		roles   []string
		expires time.Time
		data    []byte
	)
	if err := pool.QueryRow(ctx, query, s.ID).Scan(&userID, &roles, &expires, &data); err != nil {
		return fmt.Errorf("select session: %w", err)
	}
	if userID != s.UserID || len(roles) != len(s.Roles) || !expires.Equal(s.ExpiresAt) || len(data) == 0 {
		return fmt.Errorf("select session: got user %q roles %q expires %v, want %q %q %v",
			userID, roles, expires, s.UserID, s.Roles, s.ExpiresAt)
	}
	return nil
}

// TestSessionRecord pins the size of the session record the lookups
// fetch, so the numbers keep measuring the record the comments describe.
func TestSessionRecord(t *testing.T) {
	s, record := newSessionRecord(t)
	if len(s.ID) != 32 {
		t.Errorf("session id %q is %d characters, want 32", s.ID, len(s.ID))
	}
	if n := len(record); n < 250 || n > 350 {
		t.Errorf("session record is %d bytes, want about 300: %s", n, record)
	}
	t.Logf("record %d bytes: %s", len(record), record)
}
