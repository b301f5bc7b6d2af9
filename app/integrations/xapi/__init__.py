"""xAPI (1.0.3 and 2.0 / IEEE 9274.1.1) Statement resource: aidiploma as an LMS's LRS,
cmi5 moveOn, and pulling statements from an existing LRS."""
