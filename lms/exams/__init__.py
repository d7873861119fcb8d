"""Online exams: question banks, imports, papers, attempts, marking, item analysis."""
