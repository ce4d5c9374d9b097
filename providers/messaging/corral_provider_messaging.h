/*
 * corral_provider_messaging.h - the wasmcloud:messaging capability provider
 * on NATS (cnats). Actors call:
 *   Publish {subject, replyTo, body}           -> empty response
 *   Request {subject, body, timeoutMs}         -> {subject, replyTo, body}
 * and receive HandleMessage {subject, replyTo, body} for every message on
 * the subjects of their link's SUBSCRIPTION value: a comma-separated list,
 * each item `subject` or `subject|queue` for a queue group.
 *
 * Connection: a lattice member shares its own NATS connection with the
 * provider (corral_provider_messaging_use_connection, done by
 * corral_lattice_start); otherwise each instance connects to its URL
 * configuration value (default nats://127.0.0.1:4222).
 */
#ifndef CORRAL_PROVIDER_MESSAGING_H
#define CORRAL_PROVIDER_MESSAGING_H

#include <nats/nats.h>

#include "corral_provider.h"

#define CORRAL_CONTRACT_MESSAGING "wasmcloud:messaging"

/* The provider table (registry name "messaging"). Static. */
const corral_provider_t *corral_provider_messaging(void);

/* Sets (nc) or clears (NULL) the connection new instances use instead of
 * their own. The connection must outlive every instance made while it was
 * set. Thread-safe. */
void corral_provider_messaging_use_connection(natsConnection *nc);

#endif
