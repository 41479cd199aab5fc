// Package bench holds bench/run.sh's tools (bench/cmd/...) and the
// benchmarks that need more than one package (this file).
package bench

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vmdump/vmdump/bench/pcapgen"
	"github.com/vmdump/vmdump/internal/lab"
	"github.com/vmdump/vmdump/pcapng"
	"github.com/vmdump/vmdump/vmctl"
	"github.com/vmdump/vmdump/vmctl/probe"
	"github.com/vmdump/vmdump/vmctl/remotecap"
	"github.com/vmdump/vmdump/vmctl/sshconn"
)

// BenchmarkBulk is P4's data path in-process, for profiling (`go test
// -run '^$' -bench Bulk -benchtime 3x -cpuprofile cpu.out ./bench/`): a
// lab VM streams a 256 MiB pcap file through the benchmark hook
// (VMDUMP_BENCH_REMOTE_FILE's CaptureSpec field) over a real SSH
// connection. One op is one pass over the file.
//
//	ssh-only    the session's stdout read 256 KiB at a time (SSH alone)
//	pump        plus pcap→pcapng (extcap.Pump into a Writer on io.Discard)
//	pump+pipe   plus an OS pipe drained by another goroutine, as the FIFO
//
// It needs root (the lab); it is skipped otherwise.
func BenchmarkBulk(b *testing.B) {
	l := lab.Start(b, lab.Options{})
	dir, err := os.MkdirTemp("/var/tmp", "vmdump-bulk")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // the lab user reads the file
	file := filepath.Join(dir, "bulk.pcap")
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	const size = 256 << 20
	packets, err := pcapgen.Write(f, size, 1500)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(file)

	home := b.TempDir()
	kh := filepath.Join(home, "known_hosts")
	if err := os.WriteFile(kh, []byte(l.HostKeyLine()+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	vm := vmctl.VM{ID: "vmdump_bench_lab", Manager: "test", Name: "lab", Host: l.VMAddr, Port: l.SSHPort, User: l.User, KeyFiles: []string{l.KeyFile}}
	ctx := context.Background()
	conn, err := sshconn.Dial(ctx, vm, sshconn.DialOptions{Home: home, KnownHostsFile: kh, PinnedKeysFile: filepath.Join(home, "pins"), Timeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	probe, err := probe.Run(ctx, conn)
	if err != nil {
		b.Fatal(err)
	}
	spec := remotecap.CaptureSpec{Interface: l.ContainerVeth(1), BenchRemoteFile: file}

	pass := func(b *testing.B, consume func(*testing.B, io.Reader) (uint64, error)) {
		rc, err := remotecap.Start(ctx, conn, spec, probe)
		if err != nil {
			b.Fatal(err)
		}
		n, err := consume(b, rc.Stdout())
		if err != nil {
			b.Fatal(err)
		}
		if werr := rc.Wait(); werr != nil {
			b.Fatal(werr)
		}
		if n == 0 {
			b.Fatal("nothing arrived")
		}
	}
	pump := func(w io.Writer) func(*testing.B, io.Reader) (uint64, error) {
		return func(b *testing.B, r io.Reader) (uint64, error) {
			st, err := pcapng.Pump(pcapng.NewWriter(w, "vmdump bench"), r, pcapng.NIC{Name: "lab"})
			if err == nil && st.Packets != uint64(packets) {
				b.Fatalf("%d packets, want %d", st.Packets, packets)
			}
			return st.Packets, err
		}
	}
	for _, c := range []struct {
		name    string
		consume func(*testing.B, io.Reader) (uint64, error)
	}{
		{"ssh-only", func(b *testing.B, r io.Reader) (uint64, error) {
			// Pump's read size; io.Discard's own ReadFrom would read 8 KiB at a time.
			n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, r, make([]byte, 256<<10))
			if err == nil && n != fi.Size() {
				b.Fatalf("%d bytes, want %d", n, fi.Size())
			}
			return uint64(n), err
		}},
		{"pump", pump(io.Discard)},
		{"pump+pipe", func(b *testing.B, r io.Reader) (uint64, error) {
			pr, pw, err := os.Pipe()
			if err != nil {
				return 0, err
			}
			drained := make(chan struct{})
			go func() {
				buf := make([]byte, 1<<20)
				for {
					if _, err := pr.Read(buf); err != nil {
						break
					}
				}
				pr.Close()
				close(drained)
			}()
			cw := &countingWriter{w: pw}
			n, err := pump(cw)(b, r)
			pw.Close()
			<-drained
			b.ReportMetric(float64(cw.bytes)/float64(max(cw.writes, 1)), "B/write")
			return n, err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(fi.Size())
			b.ReportAllocs()
			for b.Loop() {
				pass(b, c.consume)
			}
		})
	}
}

// countingWriter counts the writes that reach the pipe (the FIFO's
// syscalls), to show how well Pump batches under load.
type countingWriter struct {
	w             io.Writer
	writes, bytes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	c.bytes += len(p)
	return c.w.Write(p)
}
