//! On-disk layout of what a node holds: container layers, emptyDirs, logs, volume backing directories.
