"""Names vulture (``.ci/run``) cannot see used: each is read by a framework, by name or through ``asdict``.

Run: ``.venv/bin/vulture shared cli handlers devkit tests bench scripts vulture_whitelist.py --min-confidence 60``.
A name belongs here only when something outside the scanned code reads it; dead code is deleted instead.
"""

# ruff: noqa: B018, F821
# mypy does not check this file (not in [tool.mypy] packages): its names are vulture's, not Python's.

# http.server: the request handlers' hooks and the servers' class attributes.
_.do_GET
_.do_POST
_.do_PUT
_.do_DELETE
_.do_HEAD
_.log_message
_.close_connection
_.daemon_threads
protocol_version
server_version
disable_nagle_algorithm

# The Lambda context's documented attributes, which the local runtime (devkit/lambda_runtime.py) provides.
memory_limit_in_mb
log_group_name
log_stream_name
_.log_group_name

# click: the context object the commands share, and the commands, registered by their decorators.
_.obj
list_
replay

# Protocol methods and their parameters (called through the Protocol, not by name).
__call__
max_age

# Dataclass fields read through asdict() or getattr() (reports, stack outputs, stats).
_.fetch_ms
_.scan_ms
_.write_ms
_.fetched_from
fetch_ms
scan_ms
write_ms
fetched_from
_.interrupted_after_line
interrupted_after_line
events_dead_letter_queue_url
change_events_dead_letter_queue_url
failed_at
_.sent_to_on_failure

# pytest: fixtures used by name, module marks; fakes keep the keyword names of the APIs they stand in for.
pytestmark
local_aws
no_servers
quiet_services
QueueUrl
decode_unicode
chunksize
_._content
_._content_consumed
_.binary_location
