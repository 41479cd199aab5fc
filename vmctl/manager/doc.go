// Package manager reads the files of each VM manager vmdump knows, one file
// per manager (boot2docker, docker-machine, Lima, Colima, Rancher Desktop,
// Podman machine, minikube, Vagrant, OrbStack, Multipass, Docker Desktop,
// Docker contexts, ~/.ssh/config hosts), each citing the manager's source
// for its format, and the exec presets that reach a VM without SSH. A
// provider only reads files: never the network, never a process. A VM
// whose files are broken comes back with Skip set.
package manager
