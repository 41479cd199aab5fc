package install

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFolders(t *testing.T) {
	tests := []struct {
		fixture string
		want    Folders
	}{
		{"folders-4.0.17-linux.txt", Folders{
			PersonalConfiguration: "/root/.config/wireshark",
			GlobalExtcap:          "/usr/lib/x86_64-linux-gnu/wireshark/extcap",
		}},
		{"folders-4.2.2-linux.txt", Folders{
			PersonalConfiguration: "/home/alice/.config/wireshark",
			PersonalExtcap:        "/home/alice/.local/lib/wireshark/extcap",
			GlobalExtcap:          "/usr/lib/x86_64-linux-gnu/wireshark/extcap",
		}},
		{"folders-4.4.1-linux.txt", Folders{
			PersonalConfiguration: "/home/alice/.config/wireshark",
			PersonalExtcap:        "/home/alice/.local/lib/wireshark/extcap",
			GlobalExtcap:          "/usr/lib/x86_64-linux-gnu/wireshark/extcap",
		}},
		{"folders-4.6.9-linux.txt", Folders{
			PersonalConfiguration: "/home/alice/.config/wireshark",
			PersonalExtcap:        "/home/alice/.local/lib/wireshark/extcap",
			GlobalExtcap:          "/usr/libexec/wireshark/extcap",
		}},
		{"folders-4.0.8-macos.txt", Folders{
			PersonalConfiguration: "/Users/alice/.config/wireshark",
			GlobalExtcap:          "/Applications/Wireshark.app/Contents/MacOS/extcap",
		}},
		{"folders-4.4.1-macos.txt", Folders{
			PersonalConfiguration: "/Users/alice/.config/wireshark",
			PersonalExtcap:        "/Users/alice/.local/lib/wireshark/extcap",
			GlobalExtcap:          "/Applications/Wireshark.app/Contents/MacOS/extcap/wireshark",
		}},
		{"folders-4.0.10-windows.txt", Folders{
			PersonalConfiguration: `C:\Users\alice\AppData\Roaming\Wireshark`,
			GlobalExtcap:          `C:\Program Files\Wireshark\extcap`,
		}},
		{"folders-4.4.1-windows.txt", Folders{
			PersonalConfiguration: `C:\Users\alice\AppData\Roaming\Wireshark`,
			PersonalExtcap:        `C:\Users\alice\AppData\Roaming\Wireshark\extcap`,
			GlobalExtcap:          `C:\Program Files\Wireshark\extcap\wireshark`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			if got := ParseFolders(readFixture(t, tt.fixture)); got != tt.want {
				t.Errorf("ParseFolders = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseFoldersEdges(t *testing.T) {
	tests := []struct {
		name, in string
		want     Folders
	}{
		{"empty", "", Folders{}},
		{"label only", "Personal Extcap path:\n", Folders{}},
		{"no blank after colon", "Personal Extcap path:/x\n", Folders{}},
		{"spaces instead of tab", "Personal Extcap path:   /p q\n", Folders{PersonalExtcap: "/p q"}},
		{"lower case label", "personal extcap path:\t/x\n", Folders{PersonalExtcap: "/x"}},
		{"drive colon in value", "Extcap path:\tC:\\W s\\extcap\r\n", Folders{GlobalExtcap: `C:\W s\extcap`}},
		{"first of repeated wins", "Personal configuration:\t/a\nPersonal configuration:\t/b\n", Folders{PersonalConfiguration: "/a"}},
		{"no trailing newline", "Global Extcap path:  \t/g", Folders{GlobalExtcap: "/g"}},
		{"noise lines", "Running as user root\n\n:\t/x\nPersonal configuration:\t/c\n", Folders{PersonalConfiguration: "/c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseFolders([]byte(tt.in)); got != tt.want {
				t.Errorf("ParseFolders(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct{ in, want string }{
		{string(readFixture(t, "version-4.0.17-linux.txt")), "4.0.17"},
		{string(readFixture(t, "version-4.2.2-linux.txt")), "4.2.2"},
		{string(readFixture(t, "version-4.4.1-linux.txt")), "4.4.1"},
		{string(readFixture(t, "version-4.6.9-linux.txt")), "4.6.9"},
		{string(readFixture(t, "version-4.4.1-windows.txt")), "4.4.1"},
		{string(readFixture(t, "version-4.0.8-macos.txt")), "4.0.8"},
		{"TShark (Wireshark) 4.6.0.\n", "4.6.0"},
		{"TShark (Wireshark) 4.3\n", "4.3"},
		{"", ""},
		{"TShark (Wireshark)\n4.0.17\n", ""}, // only the first line counts
		{"garbage", ""},
	}
	for _, tt := range tests {
		if got := ParseVersion([]byte(tt.in)); got != tt.want {
			t.Errorf("ParseVersion(%.40q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNewExtcapFolder(t *testing.T) {
	tests := []struct {
		v           string
		isNew, isOK bool
	}{
		{"4.0.17", false, true},
		{"3.6.2", false, true},
		{"4.1.0", true, true},
		{"4.2.2", true, true},
		{"4.4", true, true},
		{"4.6.9", true, true},
		{"5.0.0", true, true},
		{"", false, false},
		{"99999999999999999999.1", true, true},
	}
	for _, tt := range tests {
		isNew, ok := newExtcapFolder(tt.v)
		if isNew != tt.isNew || ok != tt.isOK {
			t.Errorf("newExtcapFolder(%q) = %v, %v; want %v, %v", tt.v, isNew, ok, tt.isNew, tt.isOK)
		}
	}
}

func FuzzParseFolders(f *testing.F) {
	for _, name := range []string{"folders-4.0.17-linux.txt", "folders-4.4.1-windows.txt", "folders-4.4.1-macos.txt"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte("Personal Extcap path:\t \r\n:"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got := ParseFolders(in)
		for _, v := range []string{got.PersonalConfiguration, got.PersonalExtcap, got.GlobalExtcap} {
			if v == "" {
				continue
			}
			if v != strings.TrimSpace(v) || strings.ContainsAny(v, "\r\n") {
				t.Fatalf("value %q is not a trimmed single line", v)
			}
			if !strings.Contains(string(in), v) {
				t.Fatalf("value %q is not in the input", v)
			}
		}
	})
}

var versionShape = regexp.MustCompile(`^\d+\.\d+(\.\d+)?$`)

func FuzzParseVersion(f *testing.F) {
	f.Add(readFixture(f, "version-4.0.17-linux.txt"))
	f.Add(readFixture(f, "version-4.4.1-windows.txt"))
	f.Add([]byte("1.2.3.4.5\n6.7"))
	f.Fuzz(func(t *testing.T, in []byte) {
		v := ParseVersion(in)
		if v == "" {
			return
		}
		first, _, _ := strings.Cut(string(in), "\n")
		if !versionShape.MatchString(v) || !strings.Contains(first, v) {
			t.Fatalf("ParseVersion(%q) = %q", in, v)
		}
	})
}
