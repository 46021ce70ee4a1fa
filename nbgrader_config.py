"""nbgrader configuration of the iotlab course.

nbgrader reads this file from the directory it runs in, so run every
``nbgrader`` command (and ``jupyter lab`` for the formgrader) from the
repository root. The instructor notebooks live in ``solutions/NN_name/`` and
``nbgrader generate_assignment NN_name`` writes the student copies to
``lessons/NN_name/``; ``iotlab build-lessons`` does this for every lesson.
"""

import os

c = get_config()  # noqa: F821 (injected by traitlets when it loads this file)

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "iotlab"
c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lessons"
# submitted/, autograded/, feedback/ (nbgrader's defaults) and the gradebook
# are student data: .gitignore keeps them out of the repository.
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(COURSE_ROOT, "gradebook.db")

# Every lesson runs on the kernel that `pip install -e .` registers as
# "python3", whatever kernel name a submitted notebook carries.
c.ExecutePreprocessor.kernel_name = "python3"
c.Execute.kernel_name = "python3"

# Per-cell time limit in seconds while nbgrader validates or autogrades.
# nbgrader's own default is 30 s. Under NBGRADER_EXECUTION the lessons shrink
# their data and training. On two CPU cores shared with other jobs, the
# slowest cell of lessons 00-09, lesson 07's `fit`, took 15 s in `python
# benchmarks/autograde_times.py` (load average 2.4-3.1). An earlier version
# of that cell, which trained its networks on more rows, took 66 s in
# tests/test_nbgrader_workflow.py at load average 5-7. That test fails when a
# cell of a solved lesson takes over half this limit.
c.ExecutePreprocessor.timeout = 300
c.Execute.timeout = 300

# A student's copy shows this stub in place of each solution region.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
