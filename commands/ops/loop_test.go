package ops_test

import (
	"context"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways/fake"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// TestSettingReachesRunningLoop: queue.retry_base changed through the
// operations reaches a delivery loop that is already running, without a
// restart: a failed send is retried after the base in force when it
// failed.
func TestSettingReachesRunningLoop(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	var loop *queue.Loop
	svc, reader := newService(t, db, nil, func() { loop.Notify() })
	sender := &fake.Sender{ErrorRate: 1, ErrorClass: queue.Retry}
	loop = queue.New(queue.Config{Tuning: queue.TuningFromSettings(reader, nil), PollInterval: 10 * time.Millisecond},
		db, queue.StaticGateways{Active: "dryrun", Senders: map[string]queue.Sender{"dryrun": sender}}, nil)

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- loop.Run(ctx) }()
	stop := func() {
		cancel()
		select {
		case err := <-stopped:
			if err != nil {
				t.Errorf("loop: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the loop did not stop")
		}
	}
	defer stop()

	// Two attempts: the one that fails now and the retry looked at.
	if _, err := svc.SetSetting(ctx, admin, queue.SettingMaxAttempts, "2", false); err != nil {
		t.Fatal(err)
	}

	// retryDelay queues phone and returns how long after its failed first
	// attempt the loop will try it again.
	retryDelay := func(phone string) time.Duration {
		t.Helper()
		res, err := svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{phone}})
		if err != nil || len(res.Queued) != 1 {
			t.Fatalf("intake %s: %+v %v", phone, res, err)
		}
		id := res.Queued[0].ID
		deadline := time.Now().Add(10 * time.Second)
		for {
			it, err := db.QueueItem(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if it.Attempts == 1 && it.Status == store.StatusQueued {
				return it.NextAttemptAt.Sub(it.UpdatedAt)
			}
			if it.Attempts > 1 || it.Status != store.StatusQueued && it.Status != store.StatusProcessing {
				t.Fatalf("item %d went past its first retry unseen: %d attempts, %s", id, it.Attempts, it.Status)
			}
			if time.Now().After(deadline) {
				t.Fatalf("item %d was not tried within 10s: %d attempts, %s", id, it.Attempts, it.Status)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	// within checks d against base ±20% jitter, with a second of slack
	// for the time between the decision and its write.
	within := func(d, base time.Duration) bool {
		return d >= base*8/10-time.Second && d <= base*12/10+time.Second
	}

	if _, err := svc.SetSetting(ctx, admin, queue.SettingRetryBase, "1h", false); err != nil {
		t.Fatal(err)
	}
	if d := retryDelay("9876543201"); !within(d, time.Hour) {
		t.Fatalf("retry after %s with retry_base=1h", d)
	}
	if _, err := svc.SetSetting(ctx, admin, queue.SettingRetryBase, "2s", false); err != nil {
		t.Fatal(err)
	}
	if d := retryDelay("9876543202"); !within(d, 2*time.Second) || d > time.Minute {
		t.Fatalf("retry after %s with retry_base=2s: the running loop kept the old base", d)
	}
	if sender.Calls() < 2 {
		t.Fatalf("fake gateway saw %d sends, want ≥2", sender.Calls())
	}
}
