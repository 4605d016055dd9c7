// Package natsapi is the ledger's NATS edge: the micro service "ledger" that takes every command
// and query on its subjects (and answers `nats micro` discovery), the authentication of NATS
// connections with ledger tokens (the embedded server's authenticator and a cluster's auth
// callout), the partition asker a partitioned ledger's queries use, and the export of the read
// models to the views bucket. It decides nothing itself: every request goes to the core
// (package handlers).
package natsapi
