package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// faultProxy is a TCP proxy to the database that a test can cut: cut
// closes every open connection both ways and closes each new one at once,
// until heal.
type faultProxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	down     bool
	conns    map[net.Conn]struct{}
	accepted int
	refused  int
	wg       sync.WaitGroup
}

func startFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.closeAll()
		p.wg.Wait()
	})
	return p
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

func (p *faultProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		if down {
			p.refused++
		} else {
			p.accepted++
		}
		p.mu.Unlock()
		if down {
			_ = c.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// serve forwards one connection until either side closes it or a cut.
func (p *faultProxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		_ = client.Close()
		return
	}
	p.mu.Lock()
	if p.down { // cut while dialling
		p.mu.Unlock()
		_ = client.Close()
		_ = server.Close()
		return
	}
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	_ = client.Close()
	_ = server.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

func (p *faultProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
}

// cut closes every open connection both ways and refuses new ones until
// heal.
func (p *faultProxy) cut() {
	p.mu.Lock()
	p.down = true
	p.mu.Unlock()
	p.closeAll()
}

func (p *faultProxy) heal() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

func (p *faultProxy) counts() (accepted, refused int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted, p.refused
}

// faultRig is a MySQL database reached directly by the test, a fake Cloud
// API, and the environment for serve on the Meta gateway.
type faultRig struct {
	t         *testing.T
	directURL string
	db        *store.DB // direct, not through any proxy
	raw       *sqlx.DB  // direct
	fake      *e2eFakeMeta
	fakeURL   string
}

func newFaultRig(t *testing.T, delay func() time.Duration) *faultRig {
	t.Helper()
	directURL := storetest.FreshMySQLDatabase(t)
	db := storetest.Open(t, store.Config{URL: directURL}, storetest.Options{}) // migrates
	tgt, err := store.ParseURL(directURL, "")
	if err != nil {
		t.Fatal(err)
	}
	// A plain session: the store's session settings differ between MySQL
	// and MariaDB versions, and these reads need none of them.
	mc, err := mysql.ParseDSN(tgt.DSN)
	if err != nil {
		t.Fatal(err)
	}
	mc.Params = nil
	raw, err := sqlx.Open("mysql", mc.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	fake := &e2eFakeMeta{phoneNumberID: e2ePNID, delay: delay}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return &faultRig{t: t, directURL: directURL, db: db, raw: raw, fake: fake, fakeURL: srv.URL}
}

// serve starts serve on databaseURL with the Meta gateway on the fake and
// the extra variables; it returns the stop function (idempotent: a failed
// test stops serve in its cleanup), the logs and the /healthz URL.
func (r *faultRig) serve(databaseURL string, extra ...string) (stop func() int, logs *syncBuffer, healthz string) {
	t := r.t
	t.Helper()
	pairs := append([]string{"MB_DATABASE_URL", databaseURL, "MB_GATEWAY", "meta",
		"MB_META_ACCESS_TOKEN", e2eTokenA, "MB_META_PHONE_NUMBER_ID", e2ePNID, "MB_META_BASE_URL", r.fakeURL,
		"MB_META_RATE_PER_SECOND", "1000", "MB_LOCK_TIMEOUT", "10s", "MB_RETRY_BASE", "1s"}, extra...)
	rawStop, logs := serveUntilStarted(t, env(t, pairs...))
	var once sync.Once
	code := -1
	stop = func() int {
		once.Do(func() { code = rawStop() })
		return code
	}
	t.Cleanup(func() { stop() })
	m := regexp.MustCompile(`http_addr=(\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no http_addr in the start line:\n%s", logs)
	}
	return stop, logs, "http://" + m[1] + "/healthz"
}

// faultItem is a queue item as read straight from the database.
type faultItem struct {
	ID         int64          `db:"id"`
	Phone      string         `db:"phone"`
	Status     string         `db:"status"`
	Attempts   int            `db:"attempts"`
	ProviderID sql.NullString `db:"provider_message_id"`
	LockedBy   sql.NullString `db:"locked_by"`
	LastError  sql.NullString `db:"last_error"`
}

func (r *faultRig) items(ctx context.Context) ([]faultItem, error) {
	var items []faultItem
	err := r.raw.SelectContext(ctx, &items, `SELECT id, phone, status, attempts, provider_message_id, locked_by, last_error
FROM queue_items ORDER BY id`)
	return items, err
}

func (r *faultRig) statusCounts(ctx context.Context) map[string]int {
	items, err := r.items(ctx)
	if err != nil {
		return map[string]int{"error: " + err.Error(): 1}
	}
	out := map[string]int{}
	for _, it := range items {
		out[it.Status]++
	}
	return out
}

// eventCounts counts the items' history events by name.
func (r *faultRig) eventCounts(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		Event string `db:"event"`
		N     int    `db:"n"`
	}
	if err := r.raw.SelectContext(ctx, &rows, `SELECT event, COUNT(*) AS n FROM queue_events GROUP BY event`); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, row := range rows {
		out[row.Event] = row.N
	}
	return out, nil
}

// waitAllSent waits until want items exist and every one is sent.
func (r *faultRig) waitAllSent(want int, within time.Duration, logs *syncBuffer) {
	t := r.t
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(within)
	for {
		items, err := r.items(ctx)
		if err == nil && len(items) == want {
			sent := 0
			for _, it := range items {
				if it.Status == string(store.StatusSent) {
					sent++
				}
			}
			if sent == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s not all %d items are sent: statuses %v (read err %v), fake got %d sends\nlogs:\n%s",
				within, want, r.statusCounts(ctx), err, r.fake.count(), faultLogExcerpt(logs.String()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkExactlyOnce checks that every phone in phones ("+digits") was sent
// exactly once at the fake and nothing else was, and that each item is
// sent, with one attempt, carrying the fake's wamid for it.
func (r *faultRig) checkExactlyOnce(phones []string, logs *syncBuffer) {
	t := r.t
	t.Helper()
	ctx := context.Background()
	byTo := map[string][]e2eMetaSend{}
	for _, s := range r.fake.snapshot() {
		byTo[s.to] = append(byTo[s.to], s)
	}
	want := map[string]bool{}
	var dups, lost []string
	for _, p := range phones {
		to := strings.TrimPrefix(p, "+")
		want[to] = true
		switch n := len(byTo[to]); {
		case n == 0:
			lost = append(lost, p)
		case n > 1:
			var at []string
			for _, s := range byTo[to] {
				at = append(at, s.at.Format("15:04:05.000"))
			}
			dups = append(dups, fmt.Sprintf("%s×%d at %s", p, n, strings.Join(at, ",")))
		}
	}
	var strays []string
	for to := range byTo {
		if !want[to] {
			strays = append(strays, to)
		}
	}
	sort.Strings(dups)
	if len(dups) > 0 || len(lost) > 0 || len(strays) > 0 {
		t.Errorf("the fake Cloud API got %d duplicated phones %v, %d lost phones %v, %d unexpected phones %v",
			len(dups), dups, len(lost), lost, len(strays), strays)
	}

	items, err := r.items(ctx)
	if err != nil {
		t.Fatalf("read items directly: %v", err)
	}
	if len(items) != len(phones) {
		t.Errorf("%d queue items, want %d (one per phone)", len(items), len(phones))
	}
	perPhone := map[string]int{}
	var bad []string
	for _, it := range items {
		perPhone[it.Phone]++
		sends := byTo[strings.TrimPrefix(it.Phone, "+")]
		okID := len(sends) == 1 && it.ProviderID.String == sends[0].wamid
		if it.Status != string(store.StatusSent) || it.Attempts != 1 || !okID {
			bad = append(bad, fmt.Sprintf("#%d %s status=%s attempts=%d provider_id=%q locked_by=%q last_error=%q",
				it.ID, it.Phone, it.Status, it.Attempts, it.ProviderID.String, it.LockedBy.String, it.LastError.String))
		}
	}
	for p, n := range perPhone {
		if n != 1 {
			t.Errorf("%d queue items for %s, want 1", n, p)
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d items are not sent once with one attempt and the fake's wamid:\n%s", len(bad), strings.Join(bad, "\n"))
	}
	if t.Failed() {
		evs, _ := r.eventCounts(ctx)
		t.Logf("history events %v; logs:\n%s", evs, faultLogExcerpt(logs.String()))
	}
}

// faultLogExcerpt keeps the lines worth reading from a long log: warnings,
// errors and the loop's and rescuer's own lines, the same message repeated
// shown once with a count.
func faultLogExcerpt(logs string) string {
	var out []string
	seen := map[string]int{}
	msgRE := regexp.MustCompile(`msg="([^"]*)"|msg=(\S+)`)
	for _, l := range strings.Split(logs, "\n") {
		if !(strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") ||
			strings.Contains(l, "queue.") || strings.Contains(l, "messagebridge started") || strings.Contains(l, "stopped")) {
			continue
		}
		key := l
		if m := msgRE.FindStringSubmatch(l); m != nil {
			key = m[1] + m[2]
		}
		seen[key]++
		switch n := seen[key]; {
		case n <= 3:
			out = append(out, l)
		case n == 4:
			out = append(out, "  … (more of "+key+")")
		}
	}
	for k, n := range seen {
		if n > 3 {
			out = append(out, fmt.Sprintf("  %q appeared %d times", k, n))
		}
	}
	return strings.Join(out, "\n")
}

// healthStatus returns the status of GET url, or 0 when there is no answer.
func healthStatus(client *http.Client, url string) int {
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// The database goes away mid-campaign for longer than the lock timeout and
// the outcome retry window, with sends in flight: /healthz says so, and
// once it is back every contact is sent exactly once, no attempt is spent
// on the outage, and nothing stays processing.
func TestDatabaseCutMidCampaign(t *testing.T) {
	t.Parallel()
	const (
		contacts = 300
		interval = 20 * time.Millisecond
	)
	r := newFaultRig(t, func() time.Duration { return 50*time.Millisecond + rand.N(150*time.Millisecond) })
	ctx := context.Background()

	// The campaign: 300 contacts, a text, 20 ms apart.
	c, err := r.db.CreateCampaign(ctx, "database cut", "test")
	if err != nil {
		t.Fatal(err)
	}
	phones := make([]string, contacts)
	list := make([]store.NewContact, contacts)
	for i := range list {
		phones[i] = fmt.Sprintf("+9198%08d", 76500000+i)
		list[i] = store.NewContact{Phone: phones[i], Name: fmt.Sprintf("Contact %d", i), Row: i + 2}
	}
	if added, _, _, err := r.db.AddCampaignContacts(ctx, c.ID, list); err != nil || added != contacts {
		t.Fatalf("add contacts: added %d, err %v", added, err)
	}
	// A campaign on the Cloud API sends an approved template.
	content, iv := store.QueueContent{Kind: store.ContentTemplate, TemplateName: "order_shipped", TemplateLanguage: "en"}, interval
	if _, err := r.db.WithCampaign(ctx, c.ID, func(tx *store.CampaignTx) error {
		return campaign.Edit(tx, store.CampaignUpdate{Content: &content, Interval: &iv})
	}); err != nil {
		t.Fatal(err)
	}

	u, err := url.Parse(r.directURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startFaultProxy(t, u.Host)
	u.Host = proxy.addr()
	stop, logs, healthz := r.serve(u.String(), "MB_WORKERS", "8")
	client := &http.Client{Timeout: 5 * time.Second}
	if code := healthStatus(client, healthz); code != http.StatusOK {
		t.Fatalf("/healthz before the cut = %d, want 200", code)
	}

	if _, err := r.db.WithCampaign(ctx, c.ID, func(tx *store.CampaignTx) error {
		return campaign.Apply(tx, campaign.Start, time.Time{}, nil)
	}); err != nil {
		t.Fatal(err)
	}

	// About a third sent, with sends in flight: cut.
	deadline := time.Now().Add(30 * time.Second)
	for r.fake.count() < contacts/3 || r.fake.inFlight.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the fake got %d sends (%d in flight) within 30s, want %d with some in flight\nlogs:\n%s",
				r.fake.count(), r.fake.inFlight.Load(), contacts/3, faultLogExcerpt(logs.String()))
		}
		time.Sleep(time.Millisecond)
	}
	proxy.cut()
	cutAt := time.Now()
	atCut, inFlightAtCut := r.fake.count(), r.fake.inFlight.Load()
	t.Logf("cut the database after %d sends, %d in flight", atCut, inFlightAtCut)

	// /healthz is asked every 250 ms while the database is away.
	healed := make(chan struct{})
	healthDone := make(chan []int, 1)
	go func() {
		var codes []int
		for {
			codes = append(codes, healthStatus(client, healthz))
			select {
			case <-healed:
				healthDone <- codes
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()

	// The outage lasts at least minCut, longer than the lock timeout and
	// the outcome retry window, and ends at the worst moment for the
	// owners, who must renew their locks before anyone recovers them:
	// just before the rescuer, one lock timeout after the last failure it
	// logged, looks at the database again. A rescuer that keeps failing
	// (noticing the outage go on) lets it end at maxCut.
	const (
		minCut      = 12 * time.Second
		maxCut      = 25 * time.Second
		lockTimeout = 10 * time.Second
	)
	var lastRescueFail time.Time
	fails := strings.Count(logs.String(), "stale-lock recovery failed")
	for {
		now := time.Now()
		if n := strings.Count(logs.String(), "stale-lock recovery failed"); n > fails {
			fails, lastRescueFail = n, now
		}
		cut := now.Sub(cutAt)
		if cut >= maxCut || cut >= minCut && !lastRescueFail.IsZero() && now.Sub(lastRescueFail) >= lockTimeout-100*time.Millisecond {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	proxy.heal()
	healedAt := time.Now()
	close(healed)
	during := <-healthDone
	saw503 := slices.Contains(during, http.StatusServiceUnavailable)
	t.Logf("healed after %s; the fake got %d sends during the cut", healedAt.Sub(cutAt).Round(time.Millisecond), r.fake.count()-atCut)
	if !saw503 {
		t.Errorf("/healthz never answered 503 during the cut; it answered %v", during)
	}

	deadline = time.Now().Add(20 * time.Second)
	for {
		code := healthStatus(client, healthz)
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz still %d 20s after the database came back\nlogs:\n%s", code, faultLogExcerpt(logs.String()))
		}
		time.Sleep(100 * time.Millisecond)
	}

	r.waitAllSent(contacts, 40*time.Second, logs)
	if code := stop(); code != 0 {
		t.Errorf("serve exited %d, want 0\nlogs:\n%s", code, faultLogExcerpt(logs.String()))
	}
	if accepted, refused := proxy.counts(); accepted == 0 || refused == 0 {
		t.Errorf("the proxy accepted %d and refused %d connections: serve did not go through it", accepted, refused)
	}

	r.checkExactlyOnce(phones, logs)
	evs, err := r.eventCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if evs["rescued"] > 0 || evs["failed"] > 0 || evs["retry"] > 0 {
		t.Errorf("history events %v: the outage made items rescued, retried or failed while their owner was alive\nlogs:\n%s",
			evs, faultLogExcerpt(logs.String()))
	}
	t.Logf("history events %v", evs)
}

// A provider slower than the lock timeout: the live loop keeps its locks,
// nothing is rescued, and every item is sent exactly once.
func TestSlowProviderSendsOnce(t *testing.T) {
	t.Parallel()
	const items = 4
	r := newFaultRig(t, func() time.Duration { return 14 * time.Second }) // > MB_LOCK_TIMEOUT 10s
	ctx := context.Background()
	phones := make([]string, items)
	news := make([]store.NewQueueItem, items)
	for i := range news {
		phones[i] = fmt.Sprintf("+9198%08d", 12340000+i)
		news[i] = store.NewQueueItem{Phone: phones[i], MaxAttempts: 3, CreatedBy: "test",
			Content: store.QueueContent{Kind: store.ContentText, Body: "Slow but sure"}}
	}
	ids, err := r.db.EnqueueQueueItems(ctx, news)
	if err != nil {
		t.Fatal(err)
	}
	// Free text goes only to customers who wrote (the Cloud API's window).
	customerWrote(t, r.db, phones...)

	stop, logs, _ := r.serve(r.directURL, "MB_WORKERS", "8")
	r.waitAllSent(items, 45*time.Second, logs)
	if code := stop(); code != 0 {
		t.Errorf("serve exited %d, want 0\nlogs:\n%s", code, faultLogExcerpt(logs.String()))
	}

	r.checkExactlyOnce(phones, logs)
	for _, id := range ids {
		evs, err := r.db.QueueItemEvents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Event == "rescued" || e.Event == "released" || e.Event == "retry" || e.Event == "failed" {
				t.Errorf("item %d: %s by %s at %s (attempt %d): %s", id, e.Event, e.Actor, e.CreatedAt.Format(time.RFC3339Nano), e.Attempt, e.Detail)
			}
		}
	}
	if t.Failed() {
		t.Logf("logs:\n%s", faultLogExcerpt(logs.String()))
	}
}
