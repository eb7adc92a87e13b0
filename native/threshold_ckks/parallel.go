package main

import (
	"runtime"
	"sync"
)

// parallel splits 0..n-1 into one contiguous range per core and runs work on each range
// in its own goroutine (worker is the range's index), returning the first error.
// Encryption, parsing, decryption shares and combining are independent per polynomial
// or chunk; every worker keeps its own Lattigo buffers and samplers.
func parallel(n int, work func(worker, first, last int) error) error {
	workers := max(min(runtime.NumCPU(), n), 1)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = work(w, w*n/workers, (w+1)*n/workers)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
