//! Jenkins adapter (in progress).
