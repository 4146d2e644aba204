"""Grading a run against a task's oracle (see ``grade.py`` for the definitions)."""

from scenarios.grading.grade import Check, Fact, Grade, Oracle, Scope, WrongValue, grade

__all__ = ["Check", "Fact", "Grade", "Oracle", "Scope", "WrongValue", "grade"]
