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

# Per-cell time limit while grading. The course budgets every cell to 30 s on 2 cores (LeNet-5's
# graded training, 6 epochs of full MNIST, is the longest; `grader bench` measures it). The limit
# is four times that: a shared 2-core machine was measured running the same cell at half speed
# (the host taking 12-20 % of its CPU), and a limit an honest solution can hit would zero it.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# Each notebook is graded by a kernel sealed off from everything but its own folder (grader/
# sandbox.py): no solutions/, no gradebook, no other student, no network, under these limits, and
# every process it starts ends with it. Needs bubblewrap (Linux); see the README.
c.Autograde.autograde_preprocessors = [
    "grader.grading.nbgrader_steps.Execute",  # nbgrader's, with the sealed kernel and a cap on output
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.SealedKernelManager.sandbox = "bwrap"
c.SealedKernelManager.memory_limit_gib = 8
c.SealedKernelManager.cpu_limit_s = 3600
c.Execute.max_output_mb = 2

# After a notebook has run, the grader checks every exercise again in its own process
# (grader/grading/confirm.py): the student's functions are called in the sealed kernel on new
# inputs, only plain data comes back, and a test cell scores only if this check confirms it. The
# inputs are drawn from this seed: set your own (students never see this file).
c.Execute.check_seed = 731_406_289
c.Execute.confirm_timeout = 120

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

# The course's own OverwriteCells (grader/grading/nbgrader_steps.py): nbgrader's, but it warns only about a
# locked cell the student really edited, not about every test cell whose hidden tests it restores.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "grader.grading.nbgrader_steps.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# A graded cell deleted from a submission is put back and run, rather than silently missing.
c.OverwriteCells.add_missing_cells = True

# Feedback shows each test cell without its hidden tests, errors as their message alone, and the
# grader's note on every cell below its maximum (written into the graded notebook by `grader
# autograde`).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "grader.grading.nbgrader_steps.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.HideHiddenTests.enforce_metadata = False
