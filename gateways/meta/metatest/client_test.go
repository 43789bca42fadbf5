package metatest_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/gateways/meta/metatest"
	"github.com/messagebridge/messagebridge/queue"
)

// The project's own Cloud API client and the fake agree on the wire: a
// text to a closed window is refused with 131047, and after the customer
// writes, text, an uploaded image, a body-only template and a flow go out.
func TestMetaClientAgainstTheFake(t *testing.T) {
	t.Parallel()
	s := metatest.New(t)
	s.AddTemplate(metatest.Template{Name: "order_update", Language: "en_US", Category: "UTILITY",
		Components: []metatest.Component{{Type: "BODY", Text: "Hi {{1}}, order {{2}} has shipped."}}})
	c := meta.New(meta.Options{
		Credentials: func(context.Context) (meta.Credentials, error) {
			return meta.Credentials{AccessToken: s.Token(), PhoneNumberID: s.PhoneNumberID(), BaseURL: s.URL(),
				GraphVersion: s.Version(), AppSecret: s.AppSecret()}, nil
		},
		HTTPClient: s.Client(),
		Now:        s.Now,
	})
	ctx := context.Background()
	phone := "+919876543210"

	_, err := c.Send(ctx, queue.Delivery{Phone: phone, Kind: queue.KindText, Text: "Hello"})
	var se *queue.SendError
	if !errors.As(err, &se) || se.Code != "131047" {
		t.Fatalf("text to a closed window: %v, want code 131047", err)
	}
	if _, err := c.Send(ctx, queue.Delivery{Phone: phone, Kind: queue.KindTemplate,
		Template: queue.Template{Name: "order_update", Language: "en_US", Params: []string{"Asha", "A-17"}}}); err != nil {
		t.Errorf("template to a closed window: %v", err)
	}

	s.CustomerWrites(phone, "Where is my order?")
	img := &queue.Media{ID: 7, MIME: "image/jpeg", Name: "offer.jpg",
		Open: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("\xff\xd8jpeg")), nil
		}}
	for _, d := range []queue.Delivery{
		{Phone: phone, Kind: queue.KindText, Text: "On its way"},
		{Phone: phone, Kind: queue.KindImage, Text: "Your parcel", Media: img},
		{Phone: phone, Kind: queue.KindFlow, Text: "Rate us", Flow: queue.Flow{ID: "1234567890"}},
	} {
		if id, err := c.Send(ctx, d); err != nil || !strings.HasPrefix(id, "wamid.") {
			t.Errorf("%s: %q, %v", d.Kind, id, err)
		}
	}
	msgs := s.Messages()
	if len(msgs) != 4 {
		t.Fatalf("accepted %d messages, want 4: %+v", len(msgs), msgs)
	}
	if m := msgs[0]; m.Type != "template" || m.Text != "Hi Asha, order A-17 has shipped." {
		t.Errorf("template: %+v", m)
	}
	if m := msgs[2]; m.Type != "image" || m.MediaID != s.Uploads()[0].ID || m.Text != "Your parcel" {
		t.Errorf("image: %+v", m)
	}
	if m := msgs[3]; m.Type != "interactive" || m.Text != "Rate us" {
		t.Errorf("flow: %+v", m)
	}
	if refs := s.Refusals(); len(refs) != 1 || refs[0].Code != 131047 {
		t.Errorf("refusals = %+v", refs)
	}
}
