package emulators

import (
	"bytes"
	"sync"
)

// SyncBuffer collects a child process's output (often from two pipes at
// once) so a test can read it while the process runs or show it on failure.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
