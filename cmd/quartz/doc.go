// Command quartz converts trained CNNs into Quartz time-to-first-spike
// spiking networks, simulates them exactly and reports what they cost.
// Run `quartz help` for the subcommands.
package main
