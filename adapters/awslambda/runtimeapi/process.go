package runtimeapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// shutdownGrace is how long a runtime has between SIGTERM and SIGKILL, as
// on Lambda for a runtime with an internal extension.
const shutdownGrace = 500 * time.Millisecond

// process is one run of the bootstrap: one Lambda execution environment.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited
	// The fields below are guarded by the server's mu.
	initialized bool   // it has asked for an invocation: its init is over
	initError   []byte // what it posted to init/error, if anything
	extension   bool   // it registered an extension, so it gets SIGTERM
}

// spawn starts the bootstrap. It holds s.mu while starting, so that Close
// never misses a process that is about to start.
func (s *Server) spawn() (*process, error) {
	path, err := filepath.Abs(s.opts.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("runtimeapi: bootstrap: %w", err)
	}
	cmd := exec.Command(path, s.opts.Args...)
	cmd.Dir = filepath.Dir(path)
	cmd.Env = append(cmd.Environ(), s.lambdaEnv(cmd.Dir)...)
	cmd.Env = append(cmd.Env, s.opts.Env...)
	cmd.Stdout, cmd.Stderr = s.opts.Stdout, s.opts.Stderr

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("runtimeapi: starting the bootstrap: %w", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	s.proc = p
	s.log.Info("runtime started", slog.String("bootstrap", path), slog.Int("pid", cmd.Process.Pid))
	return p, nil
}

// lambdaEnv is the environment Lambda gives a custom runtime.
func (s *Server) lambdaEnv(taskRoot string) []string {
	var stream [16]byte
	_, _ = rand.Read(stream[:])
	name := s.opts.FunctionName
	return []string{
		"AWS_LAMBDA_RUNTIME_API=" + s.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(s.opts.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + hex.EncodeToString(stream[:]),
		"AWS_REGION=" + s.opts.Region,
		"AWS_DEFAULT_REGION=" + s.opts.Region,
		"LAMBDA_TASK_ROOT=" + taskRoot,
		"_HANDLER=bootstrap",
	}
}

// supervise waits for each run of the bootstrap to end and, while the
// server is open, starts the next one when an invocation is waiting: as on
// Lambda, a new execution environment is made on demand.
func (s *Server) supervise(p *process) {
	defer s.supervisor.Done()
	for p != nil {
		err := p.cmd.Wait()
		close(p.done)
		s.exited(p, err)
		p = s.respawn()
	}
}

// exited fails what the process leaves unanswered: the invocation it was
// running, or, when it exited during its init, the oldest waiting
// invocation (Lambda fails the invoke that an init was made for).
func (s *Server) exited(p *process, err error) {
	s.mu.Lock()
	s.proc = nil
	var failed *invocation
	var resp Response
	switch {
	case s.current != nil:
		failed, s.current = s.current, nil
		resp = errorResponse("Runtime.ExitError",
			fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %v", failed.id, err))
	case !p.initialized && len(s.pending) > 0 && !s.closed:
		failed, s.pending = s.pending[0], s.pending[1:]
		resp = errorResponse("Runtime.ExitError", fmt.Sprintf("Runtime exited during init: %v", err))
		if p.initError != nil {
			resp.Payload = p.initError
		}
	}
	closed := s.closed
	s.broadcast()
	s.mu.Unlock()
	if failed != nil {
		s.finish(failed, resp, nil)
	}
	if !closed {
		s.log.Warn("runtime exited", slog.Int("pid", p.cmd.Process.Pid), slog.Any("error", err))
	}
}

// respawn waits until an invocation is waiting and starts a new process for
// it. It returns nil once the server closes.
func (s *Server) respawn() *process {
	for {
		s.mu.Lock()
		for !s.closed && len(s.pending) == 0 {
			changed := s.changed
			s.mu.Unlock()
			<-changed
			s.mu.Lock()
		}
		s.mu.Unlock()
		p, err := s.spawn()
		if err == nil {
			return p
		}
		if errors.Is(err, ErrClosed) {
			return nil
		}
		s.failOldest(errorResponse("Runtime.InvalidEntrypoint", err.Error()))
	}
}

// failOldest fails the oldest waiting invocation, if any.
func (s *Server) failOldest(resp Response) {
	s.mu.Lock()
	if len(s.pending) == 0 {
		s.mu.Unlock()
		return
	}
	inv := s.pending[0]
	s.pending = s.pending[1:]
	s.mu.Unlock()
	s.finish(inv, resp, nil)
}

// kill stops the process at once.
func (p *process) kill() { _ = p.cmd.Process.Kill() }

// stopProcess ends p as Lambda ends an execution environment: SIGTERM
// when it registered an extension, SIGKILL after the grace period or at
// once otherwise. It returns once the process has exited.
func (s *Server) stopProcess(p *process) {
	s.mu.Lock()
	graceful := p.extension
	s.mu.Unlock()
	if graceful && p.cmd.Process.Signal(syscall.SIGTERM) == nil {
		select {
		case <-p.done:
			return
		case <-time.After(shutdownGrace):
		}
	}
	p.kill()
	<-p.done
}
