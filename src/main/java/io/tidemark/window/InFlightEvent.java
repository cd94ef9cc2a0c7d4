package io.tidemark.window;

import io.tidemark.source.ChangeEnvelope;

/** One event of the in-flight window, for diagnostics. */
public record InFlightEvent(ChangeEnvelope envelope, boolean completed) {}
