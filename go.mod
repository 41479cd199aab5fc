module github.com/vmdump/vmdump

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0 // indirect
	github.com/google/gopacket v1.1.19 // indirect
	github.com/jessevdk/go-flags v1.6.1 // indirect
	github.com/kevinburke/ssh_config v1.6.0 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
