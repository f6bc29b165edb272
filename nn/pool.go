package nn

import "sync"

// task is one range of a parallel loop: worker w handles items [lo, hi).
type task struct {
	fn        func(w, lo, hi int)
	w, lo, hi int
	wg        *sync.WaitGroup
}

// pool is a fixed set of worker goroutines. Worker 0 is the calling
// goroutine; workers 1..n-1 are long-lived goroutines that each read their own
// channel. Dispatching a parallel loop allocates nothing: the loop body is a
// func value built once when the layer is built.
type pool struct {
	workers int
	jobs    []chan task
	wg      sync.WaitGroup
	once    sync.Once
}

func newPool(workers int) *pool {
	p := &pool{workers: workers}
	for w := 1; w < workers; w++ {
		ch := make(chan task, 1)
		p.jobs = append(p.jobs, ch)
		go func() {
			for t := range ch {
				t.fn(t.w, t.lo, t.hi)
				t.wg.Done()
			}
		}()
	}
	return p
}

// split returns worker w's share [lo, hi) of n items: contiguous, in worker
// order, sizes differing by at most one. It depends only on n and the worker
// count, which is what makes reductions deterministic.
func (p *pool) split(n, w int) (lo, hi int) {
	return n * w / p.workers, n * (w + 1) / p.workers
}

// run calls fn(w, lo, hi) for every worker w (also for empty ranges, so that
// per-worker partial results can be cleared) and waits for all of them.
func (p *pool) run(n int, fn func(w, lo, hi int)) {
	if p.workers == 1 {
		fn(0, 0, n)
		return
	}
	p.wg.Add(p.workers - 1)
	for w := 1; w < p.workers; w++ {
		lo, hi := p.split(n, w)
		p.jobs[w-1] <- task{fn: fn, w: w, lo: lo, hi: hi, wg: &p.wg}
	}
	lo, hi := p.split(n, 0)
	fn(0, lo, hi)
	p.wg.Wait()
}

// close stops the worker goroutines. Safe to call more than once.
func (p *pool) close() {
	p.once.Do(func() {
		for _, ch := range p.jobs {
			close(ch)
		}
	})
}
