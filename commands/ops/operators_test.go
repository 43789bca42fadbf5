package ops_test

import (
	"context"
	"sync"
	"testing"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

const (
	adminA = "telegram:1001"
	adminB = "telegram:1002"
)

var (
	actorA = ops.Actor{Identity: adminA, Role: ops.RoleAdmin, Transport: "telegram"}
	actorB = ops.Actor{Identity: adminB, Role: ops.RoleAdmin, Transport: "telegram"}
)

// resetAdmins makes A and B the only admins.
func resetAdmins(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	for _, id := range []string{adminA, adminB} {
		if _, err := db.PutOperator(ctx, id, store.RoleAdmin, "", "test"); err != nil {
			t.Fatal(err)
		}
	}
	if n := countAdmins(t, db); n != 2 {
		t.Fatalf("reset: %d admins, want 2", n)
	}
}

func countAdmins(t *testing.T, db *store.DB) int {
	t.Helper()
	list, err := db.Operators(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range list {
		if o.Role == store.RoleAdmin {
			n++
		}
	}
	return n
}

// race runs a and b at the same moment and returns their errors.
func race(a, b func() error) (errA, errB error) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); <-start; errA = a() }()
	go func() { defer wg.Done(); <-start; errB = b() }()
	close(start)
	wg.Wait()
	return errA, errB
}

// TestLastAdminConcurrent: two admins demoting (or removing) each other at
// the same moment never leave the bot without an admin, on either
// dialect. Each refusal is ECONFLICT, and what each call reported matches
// the database: every success took one admin away.
func TestLastAdminConcurrent(t *testing.T) {
	t.Parallel()
	const rounds = 20
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			db := storetest.OpenDialect(t, d, storetest.Options{})
			svc, _ := newService(t, db, nil, nil)
			ctx := context.Background()
			cases := []struct {
				name string
				a, b func() error
			}{
				{"demote",
					func() error { _, err := svc.PutOperator(ctx, actorA, adminB, "staff"); return err },
					func() error { _, err := svc.PutOperator(ctx, actorB, adminA, "staff"); return err }},
				{"remove",
					func() error { return svc.RemoveOperator(ctx, actorA, adminB) },
					func() error { return svc.RemoveOperator(ctx, actorB, adminA) }},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					for round := range rounds {
						resetAdmins(t, db)
						errA, errB := race(tc.a, tc.b)
						ok := 0
						for _, err := range []error{errA, errB} {
							switch ops.ErrorCode(err) {
							case "":
								ok++
							case ops.ECONFLICT:
							default:
								t.Fatalf("round %d: refusal %v (code %q), want ECONFLICT", round, err, ops.ErrorCode(err))
							}
						}
						admins := countAdmins(t, db)
						if admins < 1 {
							t.Fatalf("round %d: no admin left (A: %v, B: %v)", round, errA, errB)
						}
						if admins != 2-ok {
							t.Fatalf("round %d: %d calls succeeded but %d admins remain (A: %v, B: %v)", round, ok, admins, errA, errB)
						}
						if ok != 1 {
							// Serialized, the first change wins and the
							// second meets the last-admin rule.
							t.Fatalf("round %d: %d calls succeeded, want exactly 1 (A: %v, B: %v)", round, ok, errA, errB)
						}
					}
				})
			}
		})
	}
}

// TestLastAdminSequential: the last admin cannot be demoted or removed,
// and only admins change operators.
func TestLastAdminSequential(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	svc, _ := newService(t, db, nil, nil)
	ctx := context.Background()
	if _, err := db.PutOperator(ctx, adminA, store.RoleAdmin, "", "test"); err != nil {
		t.Fatal(err)
	}

	for _, role := range []string{"staff", "operator", " Operator "} {
		_, err := svc.PutOperator(ctx, actorA, adminA, role)
		wantCode(t, err, ops.ECONFLICT, "no admin")
	}
	wantCode(t, svc.RemoveOperator(ctx, actorA, adminA), ops.ECONFLICT, "no admin")
	if countAdmins(t, db) != 1 {
		t.Fatal("the last admin was changed")
	}

	// A second admin makes the change possible.
	if _, err := svc.PutOperator(ctx, actorA, adminB, "ADMIN"); err != nil {
		t.Fatal(err)
	}
	op, err := svc.PutOperator(ctx, actorA, adminA, "staff")
	if err != nil || op.Role != ops.RoleStaff {
		t.Fatalf("demote with another admin: %+v %v", op, err)
	}
	wantCode(t, svc.RemoveOperator(ctx, actorB, adminB), ops.ECONFLICT)
	if err := svc.RemoveOperator(ctx, actorB, adminA); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Operator(ctx, adminA); !isNotFound(err) {
		t.Fatalf("removed operator still there: %v", err)
	}
	wantCode(t, svc.RemoveOperator(ctx, actorB, adminA), ops.ENOTFOUND)

	// Only admins change operators.
	for _, a := range []ops.Actor{operator, staff, {Identity: "telegram:9"}} {
		_, err := svc.PutOperator(ctx, a, "telegram:77", "staff")
		wantCode(t, err, ops.EFORBIDDEN)
		wantCode(t, svc.RemoveOperator(ctx, a, adminB), ops.EFORBIDDEN)
	}
	if _, err := db.Operator(ctx, "telegram:77"); !isNotFound(err) {
		t.Fatalf("a forbidden put stored an operator: %v", err)
	}
	if countAdmins(t, db) != 1 {
		t.Fatal("a forbidden remove changed the admins")
	}

	_, err = svc.PutOperator(ctx, actorB, "telegram:77", "boss")
	wantCode(t, err, ops.EINVALID)
	_, err = svc.PutOperator(ctx, actorB, "telegram:abc", "staff")
	wantCode(t, err, ops.EINVALID)

	// Refusals and changes are audited.
	log, err := svc.AuditLog(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	var refused, done int
	for _, e := range log {
		if e.Action == "operator.put" || e.Action == "operator.remove" {
			switch e.Outcome {
			case "refused":
				refused++
			case "ok":
				done++
			}
		}
	}
	if refused < 5 || done < 3 {
		t.Fatalf("audit: %d refused, %d ok operator changes; want ≥5 and ≥3", refused, done)
	}
}
