package commands_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/commands"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text    string
		want    commands.Command
		wantErr string
	}{
		{text: "98765 43210", want: commands.Command{Name: "send", Args: []string{"98765 43210"}, Implicit: true}},
		{text: "9876543210, 9123456789", want: commands.Command{Name: "send", Args: []string{"9876543210", "9123456789"}, Implicit: true}},
		{text: "/send 98765 43210", want: commands.Command{Name: "send", Args: []string{"98765 43210"}}},
		{text: "/send 9876543210 order_ready", want: commands.Command{Name: "send", Args: []string{"9876543210", "message=order_ready"}}},
		{text: "/send 98765 43210 diwali offer", want: commands.Command{Name: "send", Args: []string{"98765 43210", "message=diwali offer"}}},
		{text: "/send! +91 98765 43210", want: commands.Command{Name: "send", Args: []string{"+91 98765 43210"}, Force: true}},
		{text: "/send", want: commands.Command{Name: "send", Args: nil}},
		{text: "/status", want: commands.Command{Name: "status", Args: []string{}}},
		{text: "/STATUS@ShopBot", want: commands.Command{Name: "status", Args: []string{}}},
		{text: "/whoami", want: commands.Command{Name: "whoami", Args: []string{}}},
		{text: "/help", want: commands.Command{Name: "help", Args: []string{}}},
		{text: "/queue 7d", want: commands.Command{Name: "queue", Args: []string{"7d"}}},
		{text: "/queue", want: commands.Command{Name: "queue", Args: []string{}}},
		{text: "/recent 20", want: commands.Command{Name: "recent", Args: []string{"20"}}},
		{text: "/failed", want: commands.Command{Name: "failed", Args: []string{}}},
		{text: "/retry 12", want: commands.Command{Name: "retry", Args: []string{"12"}}},
		{text: "/edit 12 98765 43210", want: commands.Command{Name: "edit", Args: []string{"12", "98765", "43210"}}},
		{text: "/cancel 12", want: commands.Command{Name: "cancel", Args: []string{"12"}}},
		{text: "/gateway", want: commands.Command{Name: "gateway", Args: []string{}}},
		{text: "/gateway use meta", want: commands.Command{Name: "gateway", Sub: "use", Args: []string{"meta"}}},
		{text: "/gateway USE whapi", want: commands.Command{Name: "gateway", Sub: "use", Args: []string{"whapi"}}},
		{text: "/gateway use! meta", want: commands.Command{Name: "gateway", Sub: "use", Args: []string{"meta"}, Force: true}},
		{text: "/Gateway@ShopBot USE! meta", want: commands.Command{Name: "gateway", Sub: "use", Args: []string{"meta"}, Force: true}},
		{text: "/send!@ShopBot 9876543210", want: commands.Command{Name: "send", Args: []string{"9876543210"}, Force: true}},
		{text: "/gateway use! session", want: commands.Command{Name: "gateway", Sub: "use", Args: []string{"session"}, Force: true}},
		{text: "/operators", want: commands.Command{Name: "operators", Args: []string{}}},
		{text: "/operator add telegram:42 staff", want: commands.Command{Name: "operator", Sub: "add", Args: []string{"telegram:42", "staff"}}},
		{text: "/operator remove telegram:42", want: commands.Command{Name: "operator", Sub: "remove", Args: []string{"telegram:42"}}},
		{text: "/operator", want: commands.Command{Name: "operator", Args: []string{}}},
		{text: "  /retry   7  ", want: commands.Command{Name: "retry", Args: []string{"7"}}},
		{text: `/save "Diwali offer" 20% off`, want: commands.Command{Name: "save", Args: []string{"Diwali offer", "20%", "off"}, Text: `"Diwali offer" 20% off`}},
		{text: "/save “Diwali offer” 20% off\nall week", want: commands.Command{Name: "save", Args: []string{"Diwali offer", "20%", "off", "all", "week"}, Text: "“Diwali offer” 20% off\nall week"}},
		{text: "/save thanks text Thank you", want: commands.Command{Name: "save", Args: []string{"thanks", "text", "Thank", "you"}, Text: "thanks text Thank you"}},
		{text: `/save "Diwali offer`, want: commands.Command{Name: "save", Args: []string{`"Diwali`, "offer"}, Text: `"Diwali offer`}},
		{text: `/save ""`, want: commands.Command{Name: "save", Text: `""`}},
		{text: "/messages all", want: commands.Command{Name: "messages", Args: []string{"all"}}},
		{text: "/message Diwali offer", want: commands.Command{Name: "message", Args: []string{"Diwali", "offer"}, Text: "Diwali offer"}},
		{text: `/message ARCHIVE "Diwali offer"`, want: commands.Command{Name: "message", Sub: "archive", Args: []string{"Diwali offer"}, Text: `"Diwali offer"`}},
		{text: `/message "archive"`, want: commands.Command{Name: "message", Args: []string{"archive"}, Text: `"archive"`}},
		{text: "/message replace promo", want: commands.Command{Name: "message", Sub: "replace", Args: []string{"promo"}, Text: "promo"}},
		{text: "/media cleanup", want: commands.Command{Name: "media", Sub: "cleanup", Args: []string{}}},
		{text: `/campaign set 1 message="Diwali offer" interval=5s`, want: commands.Command{Name: "campaign", Sub: "set", Args: []string{"1", "message=Diwali offer", "interval=5s"}}},
		{text: `/campaign set 1 message="Diwali`, want: commands.Command{Name: "campaign", Sub: "set", Args: []string{"1", `message="Diwali`}}},
		{text: `/send 98765 43210 "Diwali offer"`, want: commands.Command{Name: "send", Args: []string{"98765 43210", `message="Diwali offer"`}}},
		{text: "/frobnicate 1", wantErr: "unknown command /frobnicate"},
		{text: "/status!", wantErr: "unknown command /status!"},
		{text: "/send!! 9876543210", wantErr: "unknown command /send!!"},
		{text: "/gateway! use meta", wantErr: "unknown command /gateway!"},
		{text: "/operator! add telegram:42 staff", wantErr: "unknown command /operator!"},
		{text: "/campaign start! 1", wantErr: "unknown command /campaign start!"},
		{text: "/message archive! promo", wantErr: "unknown command /message archive!"},
		{text: "/", wantErr: "unknown command /"},
		{text: "hello", wantErr: commands.ErrNotUnderstood.Error()},
		{text: "", wantErr: commands.ErrNotUnderstood.Error()},
		{text: "order #12, 2 pcs", wantErr: commands.ErrNotUnderstood.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			t.Parallel()
			got, err := commands.Parse(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) = %+v, %v; want error %q", tt.text, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.text, err)
			}
			if len(got.Args) == 0 && len(tt.want.Args) == 0 {
				got.Args, tt.want.Args = nil, nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q) = %#v, want %#v", tt.text, got, tt.want)
			}
		})
	}
	var unknown *commands.UnknownCommandError
	if _, err := commands.Parse("/nope"); !errors.As(err, &unknown) || unknown.Name != "nope" {
		t.Fatalf("unknown command error: %v", err)
	}
}

// Every command the router knows parses.
func TestEveryCommandParses(t *testing.T) {
	t.Parallel()
	for _, key := range commands.Keys() {
		c, err := commands.Parse("/" + key)
		if err != nil || c.Key() != key {
			t.Errorf("Parse(/%s) = %+v, %v", key, c, err)
		}
	}
}

// FuzzParse: any text parses to a command or a clear error, never a panic,
// and what parses is well formed.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"98765 43210", "/send! +91-98765-43210", "/gateway use meta", "/gateway use! meta", "/campaign start! 1", "/operator add telegram:1 admin",
		"9.87654321E9", "/edit 12 ０９８７６５４３２１０", "\x00/retry", "/send 1 2 3 4 5 6 7 8 9 0 x",
		`/save "Diwali offer" caption`, "/message archive “x", `/campaign set 1 message="a b" x="`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := commands.Parse(text)
		if err != nil {
			if c.Name != "" {
				t.Fatalf("error %v with a command %+v", err, c)
			}
			return
		}
		if c.Name == "" {
			t.Fatalf("Parse(%q) gave a command without a name", text)
		}
		if c.Force && !strings.Contains(text, "!") {
			t.Fatalf("Parse(%q) forced a command typed without a !", text)
		}
		if c.Implicit && (c.Name != "send" || len(c.Args) == 0) {
			t.Fatalf("implicit command %+v", c)
		}
		for _, a := range c.Args {
			if strings.TrimSpace(a) == "" {
				t.Fatalf("Parse(%q) gave an empty argument: %#v", text, c.Args)
			}
		}
	})
}
