package emulators

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The Azure Storage development account, as published by Microsoft for
// Azurite and the storage emulator: not a secret.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Azurite is a running Azurite: blob, queue and table services on 127.0.0.1.
type Azurite struct {
	BlobPort, QueuePort, TablePort int
}

// BlobEndpoint is the blob service URL of the development account.
func (a *Azurite) BlobEndpoint() string {
	return fmt.Sprintf("http://127.0.0.1:%d/%s", a.BlobPort, AzuriteAccount)
}

// QueueEndpoint is the queue service URL of the development account.
func (a *Azurite) QueueEndpoint() string {
	return fmt.Sprintf("http://127.0.0.1:%d/%s", a.QueuePort, AzuriteAccount)
}

// ConnectionString is the account's connection string, in the form the
// Azure SDKs and AzureWebJobsStorage take.
func (a *Azurite) ConnectionString() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;QueueEndpoint=%s;",
		AzuriteAccount, AzuriteKey, a.BlobEndpoint(), a.QueueEndpoint())
}

// BucketURL is a gocloud azureblob URL for container on this Azurite; the
// driver reads the account and key from AZURE_STORAGE_ACCOUNT and
// AZURE_STORAGE_KEY (see Env). gocloud does not create containers.
func (a *Azurite) BucketURL(container string) string {
	return fmt.Sprintf("azblob://%s?protocol=http&domain=127.0.0.1:%d", container, a.BlobPort)
}

// Env is the environment the azureblob driver needs for this Azurite.
func (a *Azurite) Env() []string {
	return []string{"AZURE_STORAGE_ACCOUNT=" + AzuriteAccount, "AZURE_STORAGE_KEY=" + AzuriteKey}
}

// StartAzurite starts Azurite from the project's node_modules (installed by
// `npm ci`, which scripts/test runs) on free ports, in memory, and stops it
// when the test ends.
func StartAzurite(t testing.TB) *Azurite {
	t.Helper()
	a, stop, err := LaunchAzurite(ModuleRoot(t))
	if u := (*UnavailableError)(nil); errors.As(err, &u) {
		Missing(t, "%s", u.Reason)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return a
}

// UnavailableError is a Launch function's error when its peer is not
// installed or cannot be run: for a test, Missing rather than a failure.
type UnavailableError struct {
	Reason string // what is missing, and how to install it
}

func (e *UnavailableError) Error() string { return "emulators: " + e.Reason }

// LaunchAzurite is StartAzurite for a caller with no test to tie Azurite's
// life to: a TestMain that shares one Azurite among a package's tests calls
// stop when they are done. root is the module root (ModuleRoot).
func LaunchAzurite(root string) (a *Azurite, stop func(), err error) {
	bin := filepath.Join(root, "node_modules", ".bin", "azurite")
	if _, err := os.Stat(bin); err != nil {
		return nil, nil, &UnavailableError{"Azurite is not installed: run `npm ci` at the repository root (scripts/test does)"}
	}
	a = &Azurite{}
	for _, p := range []*int{&a.BlobPort, &a.QueuePort, &a.TablePort} {
		if *p, err = freePort(); err != nil {
			return nil, nil, err
		}
	}
	cmd := exec.Command(bin, "--silent", "--inMemoryPersistence", "--skipApiVersionCheck", "--loose",
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(a.BlobPort),
		"--queueHost", "127.0.0.1", "--queuePort", strconv.Itoa(a.QueuePort),
		"--tableHost", "127.0.0.1", "--tablePort", strconv.Itoa(a.TablePort))
	// Its own process group, so that stopping it stops node's children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := os.CreateTemp("", "azurite-*.log")
	if err != nil {
		return nil, nil, err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		os.Remove(out.Name())
		return nil, nil, &UnavailableError{"starting Azurite: " + err.Error()}
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop = func() {
		// Azurite closes its services on SIGTERM but keeps running: give it
		// a moment, then kill the group.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		out.Close()
		os.Remove(out.Name())
	}
	for _, port := range []int{a.BlobPort, a.QueuePort} {
		if err := waitTCPOrExit(fmt.Sprintf("127.0.0.1:%d", port), 30*time.Second, done); err != nil {
			log, _ := os.ReadFile(out.Name())
			stop()
			return nil, nil, fmt.Errorf("emulators: Azurite did not start: %v\n%s", err, log)
		}
	}
	return a, stop, nil
}

// waitTCPOrExit is WaitTCP that gives up as soon as the process has exited.
func waitTCPOrExit(addr string, d time.Duration, exited <-chan struct{}) error {
	ready := make(chan error, 1)
	go func() { ready <- WaitTCP(addr, d) }()
	select {
	case err := <-ready:
		return err
	case <-exited:
		return fmt.Errorf("emulators: the process exited before %s was reachable", addr)
	}
}
