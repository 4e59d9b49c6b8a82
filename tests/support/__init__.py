"""What tests share: paths and exports of the bundled projects, record builders for both
studies, the worker and the sandbox as subprocesses, a loopback SMTP server, and other
builders. Test modules import from here and never from one another (tests/test_layout.py)."""
