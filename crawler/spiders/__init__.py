"""Spiders of narrative-tracker."""
