package webadmin_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/store"
)

// TestDashboardShowsLatestReplies: customers' messages are listed on the
// dashboard, newest first, their text and name escaped, media as [image].
func TestDashboardShowsLatestReplies(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.signedIn(t)
	if code, body := s.get(t, c, "/admin/"); code != http.StatusOK || !strings.Contains(body, "No customer has written to us yet.") {
		t.Fatalf("empty dashboard: %d", code)
	}
	ctx := context.Background()
	for _, m := range []store.InboundMessage{
		{Gateway: "meta", ProviderMessageID: "w1", Phone: "919876543210", ProfileName: "Asha <i>", Kind: store.InboundText, Body: `<script>alert("x")</script> ready?`},
		{Gateway: "meta", ProviderMessageID: "w2", Phone: "+919811111111", Kind: store.InboundImage, Body: "this one"},
		{Gateway: "meta", ProviderMessageID: "w3", Phone: "+919822222222", Kind: store.InboundText, Body: "STOP"},
	} {
		if err := s.ops.Inbound(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// The raw page, entities not decoded (s.get decodes them).
	res, err := c.Get(s.srv.URL + "/admin/")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("dashboard: %d", res.StatusCode)
	}
	body := string(raw)
	section := regexp.MustCompile(`(?s)<h2>Latest replies</h2>.*?</table>`).FindString(body)
	if strings.Contains(section, "<script>") || strings.Contains(section, "<i>") {
		t.Fatalf("a customer's text is not escaped:\n%s", section)
	}
	for _, want := range []string{"&#43;919876543210", "Asha &lt;i&gt;", "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; ready?", "&#43;919811111111", "[image] this one"} {
		if !strings.Contains(section, want) {
			t.Errorf("Latest replies lacks %q:\n%s", want, section)
		}
	}
	if !strings.Contains(section, "<td>STOP<br><small>stop request: opted out of campaigns</small></td>") {
		t.Errorf("the stop request is not marked:\n%s", section)
	}
	if strings.Index(section, "919811111111") > strings.Index(section, "919876543210") {
		t.Errorf("not newest first:\n%s", section)
	}
}
