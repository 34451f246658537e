"""nbgrader configuration: instructors edit solutions/, students get course/ (generated)."""
c = get_config()  # noqa: F821  (provided by nbgrader)

c.CourseDirectory.course_id = "keras-course"
c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
# Files the student's notebook writes while it is graded never belong in course/.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            "graded-models", "*.keras"]

# Per-cell time limit while grading. Every cell is budgeted to finish within half of it on
# 2 cores (`grader bench` measures that); half of 60 s is the 30 s of training the course
# allows its largest graded model, LeNet-5, with the other half as headroom for slower machines.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True

# Keep nbgrader's protections on.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.enforce_metadata = True
c.ClearHiddenTests.enforce_metadata = True
c.OverwriteCells.enabled = True
c.CheckCellMetadata.enabled = True
c.DeduplicateIds.enabled = True
c.LockCells.lock_all_cells = False
c.LockCells.lock_grade_cells = True
c.LockCells.lock_readonly_cells = True

# Notebooks go to students without outputs.
c.ClearOutput.enabled = True
