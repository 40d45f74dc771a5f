"""Matching: the pure engine (:mod:`.engine`) and loading its candidates (:mod:`.candidates`)."""
