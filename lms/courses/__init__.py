"""Courses and materials: course files, browser authoring, attachments, lessons, progress."""
