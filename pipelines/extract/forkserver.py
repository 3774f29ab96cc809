"""Preloaded first by the server a `WorkerPool`'s workers fork from, and imported nowhere else: that server dies
with the thread that started it, and its workers check against `PID` that they die with it."""

import os

from pipelines.extract.pool import die_with_parent

PID = os.getpid()
die_with_parent()
