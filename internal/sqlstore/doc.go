// Package sqlstore is the store logic the sqlite and postgres packages share: the
// statements, the column lists and the scanners of every table, the filter builders,
// the error messages, and every f2fpay.Storage method whose logic does not depend on
// the database. Each store embeds a *Core and keeps what really differs: how it runs
// a transaction (SQLite's single writer with group commit; PostgreSQL's pools and
// pipelined BEGIN), how it maps driver errors to f2fpay errors, how it stores a time
// (SQLite INTEGER microseconds, PostgreSQL timestamptz), and the methods whose
// concurrency argument is its own (idempotency: one write lock in SQLite, ON CONFLICT
// and FOR UPDATE in PostgreSQL).
//
// The statements. queries.sql holds those both databases run as they are, written
// once with PostgreSQL's $n placeholders; Load rewrites them to SQLite's ?n when the
// store opens (not per call: the SQLite store's prepared-statement cache is keyed by
// the text). The statements that really differ — the claims (FOR UPDATE SKIP LOCKED),
// idempotency locks, the instance upsert and the purge — sit in sqlite/queries.sql and
// postgres/queries.sql under the same names in the same order, so that
//
//	diff sqlite/queries.sql postgres/queries.sql
//
// shows every difference between the two dialects. A generator such as sqlc would
// give typed wrappers for a few dozen statements at the cost of a build step and two
// generated copies of every row type; the scanners here are written once instead.
// Load fails when a name is missing, defined twice or unknown, so a statement cannot
// silently fall out of one dialect.
package sqlstore
