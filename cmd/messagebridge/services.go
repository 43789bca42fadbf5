package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// service is one long-running part of a process: the delivery loop, the
// stale-lock rescuer, a chat transport, the HTTP server. Run works until
// ctx is cancelled and then returns nil; an error means it stopped on its
// own.
type service struct {
	name string
	run  func(ctx context.Context) error
	// ends: when it returns, the whole run ends (the console chat).
	ends bool
}

// services runs a set of services together: the first that fails stops
// the others, and every error is returned, none dropped.
type services struct {
	log  *slog.Logger
	list []service

	// running names the services started and not yet returned.
	mu      sync.Mutex
	running map[string]bool
}

func (s *services) add(name string, run func(ctx context.Context) error) {
	s.list = append(s.list, service{name: name, run: run})
}

// addFinal adds a service whose return ends the run, without an error
// when it returns nil.
func (s *services) addFinal(name string, run func(ctx context.Context) error) {
	s.list = append(s.list, service{name: name, run: run, ends: true})
}

// run starts every service and waits until ctx is cancelled or one of them
// stops on its own; then it cancels the rest and waits for them at most
// grace. It returns the errors of the services that failed.
func (s *services) run(ctx context.Context, grace time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(s.list))
	var wg sync.WaitGroup
	s.mu.Lock()
	s.running = map[string]bool{}
	for _, svc := range s.list {
		s.running[svc.name] = true
	}
	s.mu.Unlock()
	for _, svc := range s.list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := svc.run(ctx)
			s.mu.Lock()
			delete(s.running, svc.name)
			s.mu.Unlock()
			if err == nil && ctx.Err() == nil && !svc.ends {
				err = errors.New("stopped unexpectedly")
			}
			results <- result{svc.name, err}
			if err != nil || svc.ends {
				cancel()
			}
		}()
	}
	<-ctx.Done()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		s.log.Warn("shutdown: some services did not stop in time; their work is recovered at the next start",
			"grace", grace, "services", s.stillRunning())
	}
	collect := func() []error {
		var errs []error
		for {
			select {
			case r := <-results:
				if r.err != nil && !errors.Is(r.err, context.Canceled) {
					s.log.Error("service failed", "service", r.name, "err", r.err)
					errs = append(errs, fmt.Errorf("%s: %w", r.name, r.err))
				}
			default:
				return errs
			}
		}
	}
	return errors.Join(collect()...)
}

// stillRunning lists the services started and not yet returned, by name.
func (s *services) stillRunning() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.running))
	for name := range s.running {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
