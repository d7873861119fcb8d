"""The tiered training scheme: programs, enrolment, attendance, completion, rotation."""
