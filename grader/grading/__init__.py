"""The grading core: what decides a grade, in processes no student code runs in.

No notebook imports this package (a test checks it); the student-facing checks in
``grader.lessons`` and ``grader.feedback`` are what it runs again, on plain data. ``wire`` is the
one module of it the student's kernel runs, and only to hand its answers over.
"""
